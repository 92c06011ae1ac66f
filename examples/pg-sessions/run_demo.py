#!/usr/bin/python3
"""The second part of `make demo`: a plain sync libpq program, rewritten by balrog-gen.

  examples/pg-sessions/run_demo.py [--build build/release] [--sessions 200]

Shows balrog-gen's diff of examples/pg-sessions/sessions.cpp, starts a throwaway PostgreSQL
(scripts/pg-cluster, stopped at the end whatever happens), runs the program as written
(pg_sessions_sync: a std::thread per session) and as rewritten (pg_sessions_balrog: a fiber per
session, on one thread), and prints them side by side. Both binaries must be built
(`cmake --build --preset release --target pg_sessions`).

Then where balrog wins (issue 11 §5, the "multiplexed sessions" case of `scripts/bench pg` at
a scale that runs in well under a minute): many short sessions, each connecting and running a
few transactions (a PK select and an update of its own row) with think time, against a server
that gives them 20 connections. The plain libpq code on a std::thread per session through
PgBouncer in transaction mode (20 server connections) vs the same code on balrog::compat, one
thread, multiplexed onto 20 server connections (bench_pg_mux_sessions, built with the target
of that name). The programs' own output goes to <build>/pg-sessions-demo.log.

What is measured, from outside the program: peak RSS (wait4's ru_maxrss), the peak number of
OS threads of the process and of server connections (sampled every few milliseconds from
/proc/PID/status and pg_stat_activity). From inside (its summary line): how long until every
session was connected, how long the work took after that, queries, failures, and how many
distinct threads ran session code.
"""
import argparse
import difflib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PG_CLUSTER = os.path.join(ROOT, "scripts", "pg-cluster")
SUMMARY = re.compile(r"pg_sessions: (\d+) sessions, .*: (\d+) queries, (\d+) failed, "
                     r"(\d+) transfers, "
                     r"(\d+) bad sums; all connected after ([\d.]+) s, then worked ([\d.]+) s; "
                     r"sessions ran on (\d+) thread")


def say(text=""):
    print(text, flush=True)


def show_rewrite(gen, build):
    """Rewrites sessions.cpp with balrog-gen as balrog_wrap() does (-o), prints the diff and
    checks that the build compiled that very rewrite. Returns the build's copy."""
    rel_build = os.path.relpath(build, ROOT)
    source = os.path.relpath(os.path.join(HERE, "sessions.cpp"), ROOT)
    mirror = os.path.join(build, "examples", "pg-sessions", "balrog_wrap", "pg_sessions_balrog",
                          "sessions.cpp")
    with tempfile.TemporaryDirectory(prefix="balrog-demo-gen-") as out:
        say("$ %s -p %s -o $OUT --base-dir %s %s" % (os.path.relpath(gen, ROOT), rel_build,
                                                     os.path.dirname(source), source))
        say("$ diff -U1 %s $OUT/sessions.cpp" % source)
        r = subprocess.run([gen, "-p", rel_build, "--quiet", "-o", out, "--base-dir", HERE, source],
                           cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("run_demo: balrog-gen failed (%d):\n%s" % (r.returncode, r.stderr))
        with open(os.path.join(HERE, "sessions.cpp")) as f:
            before = f.read()
        with open(os.path.join(out, "sessions.cpp")) as f:
            after = f.read()
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "a/" + source,
                                "b/" + source, n=1, lineterm="")
    say("\n".join(diff))
    with open(mirror) as f:
        if f.read() != after:
            sys.exit("run_demo: %s differs from balrog-gen's rewrite: rebuild pg_sessions_balrog"
                     % mirror)
    return os.path.relpath(mirror, ROOT)


def threads_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(binary, conninfo, sessions):
    monitor = psycopg2.connect(conninfo)
    monitor.autocommit = True
    cur = monitor.cursor()
    count_sql = ("select count(*) from pg_stat_activity "
                 "where backend_type = 'client backend' and pid <> pg_backend_pid()")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([binary, conninfo, str(sessions)], stdout=out, stderr=err)
        peak_threads = peak_conns = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                break
            peak_threads = max(peak_threads, threads_of(proc.pid))
            cur.execute(count_sql)
            peak_conns = max(peak_conns, cur.fetchone()[0])
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    monitor.close()
    m = SUMMARY.search(stdout)
    if proc.returncode != 0 or not m:
        sys.exit("run_demo: %s exited %d\n%s%s" % (os.path.basename(binary), proc.returncode,
                                                    stdout, stderr[-3000:]))
    return {
        "sessions": int(m.group(1)), "queries": int(m.group(2)), "failed": int(m.group(3)),
        "transfers": int(m.group(4)), "bad_sums": int(m.group(5)), "connect": float(m.group(6)),
        "work": float(m.group(7)), "session_threads": int(m.group(8)),
        "stalls": stderr.count("balrog watchdog: shard"), "peak_threads": peak_threads,
        "peak_conns": peak_conns, "rss_mib": usage.ru_maxrss / 1024.0,
    }


def table(sync, fibers):
    rows = [
        ("sessions", "%d", "sessions"),
        ("queries", "%d", "queries"),
        ("failed queries or connects", "%d", "failed"),
        ("wall time: all connected after", "%.2f s", "connect"),
        ("           then the work took", "%.2f s", "work"),
        ("peak RSS", "%.1f MiB", "rss_mib"),
        ("OS threads (peak)", "%d", "peak_threads"),
        ("  of which ran sessions", "%d", "session_threads"),
        ("server connections (peak)", "%d", "peak_conns"),
    ]
    say("  %-30s %20s %20s" % ("", "sync: std::threads", "balrog: fibers"))
    for label, fmt, key in rows:
        say("  %-30s %20s %20s" % (label, fmt % sync[key], fmt % fibers[key]))


def summary(sync, fibers):
    say()
    extra = fibers["peak_threads"] - fibers["session_threads"]
    say("  The same work both ways (%d transfers, the balances always added up). The\n"
        "  balrog build ran every session on one thread; its %d other threads at the peak\n"
        "  were balrog's offload pool, where PQconnectdb's PQconnectStart runs (it may\n"
        "  resolve names and read files). Connecting is mostly the server's work (a backend\n"
        "  process per connection), and each session holds its server connection either way:\n"
        "  balrog changes the client's threads, not the server's backends. After connecting,\n"
        "  fibers took %.2fx the time and the process %.2fx the memory of threads."
        % (fibers["transfers"], extra, fibers["work"] / sync["work"],
           fibers["rss_mib"] / sync["rss_mib"]))
    if fibers["stalls"]:
        say("  (balrog's watchdog saw the one thread away from its loop for more than 100 ms %d\n"
            "  time(s), while the server's backends kept the CPUs busy; its reports go to stderr,\n"
            "  hidden here.)" % fibers["stalls"])


def peak_sampler(conninfo):
    """A function sampling (OS threads of pid, client connections to the server)."""
    monitor = psycopg2.connect(conninfo)
    monitor.autocommit = True
    cur = monitor.cursor()

    def sample(pid):
        cur.execute("select count(*) from pg_stat_activity "
                    "where backend_type = 'client backend' and pid <> pg_backend_pid()")
        return threads_of(pid), cur.fetchone()[0]

    return monitor, sample


def run_mux(cmd, conninfo, log):
    """Runs bench_pg_mux_sessions; its output goes to `log`. Returns its record plus peaks."""
    monitor, sample = peak_sampler(conninfo)
    log.write("$ %s\n" % " ".join(cmd))
    log.flush()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=log)
        peak_threads = peak_conns = 0
        deadline = time.monotonic() + 120
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                proc.kill()
            threads, conns = sample(proc.pid)
            peak_threads, peak_conns = max(peak_threads, threads), max(peak_conns, conns)
            time.sleep(0.02)
        out.seek(0)
        stdout = out.read()
    monitor.close()
    log.write(stdout)
    log.flush()
    lines = [l for l in stdout.splitlines() if l.startswith("cpu_s ")]
    if not lines:
        sys.exit("run_demo: %s exited %d without a result (see %s)"
                 % (os.path.basename(cmd[0]), os.waitstatus_to_exitcode(status), log.name))
    it = lines[-1].split()
    r = {k: float(v) for k, v in zip(it[0::2], it[1::2])}
    r.update(peak_threads=peak_threads, peak_conns=peak_conns, rss_mib=usage.ru_maxrss / 1024.0)
    return r


def mux_part(args, cluster, conninfo, mux_client, log):
    """Section 5's comparison: balrog multiplexed, then threads + PgBouncer (started only then,
    so that its pooled server connections are not counted as balrog's). Returns the results."""
    common = ["--direct", conninfo, "--sessions", str(args.mux_sessions), "--transactions",
              str(args.mux_transactions), "--think-ms", str(args.mux_think_ms)]
    got = {"balrog": run_mux([mux_client, "--mode", "balrog", "--conninfo", conninfo,
                              "--physical", str(args.mux_connections)] + common, conninfo, log)}
    r = subprocess.run([PG_CLUSTER, "pgbouncer", cluster, "--mode", "transaction",
                        "--pool-size", str(args.mux_connections)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("run_demo: PgBouncer did not start:\n" + r.stdout + r.stderr)
    info = dict(kv.split("=", 1) for kv in r.stdout.strip().splitlines()[-1].split())
    # TCP, as `scripts/bench pg` does: a Unix socket's backlog refuses a burst of connects.
    bouncer = "host=127.0.0.1 port=%s user=%s dbname=%s" % (info["port"], info["user"],
                                                           info["dbname"])
    got["threads"] = run_mux([mux_client, "--mode", "threads", "--conninfo", bouncer] + common,
                             conninfo, log)
    return got


def mux_table(got):
    rows = [
        ("sessions", "%d", "sessions"),
        ("failed sessions", "%d", "failed"),
        ("rows with a wrong final value", "%d", "wrong_rows"),
        ("wall time", "%.2f s", "seconds"),
        ("sessions/s", "%.0f", "sessions_per_s"),
        ("client CPU", "%.2f s", "cpu_s"),
        ("peak RSS", "%.1f MiB", "rss_mib"),
        ("OS threads (peak)", "%d", "peak_threads"),
        ("server connections (peak)", "%d", "peak_conns"),
    ]
    say("  %-30s %22s %22s" % ("", "threads + PgBouncer", "balrog multiplexed"))
    for label, fmt, key in rows:
        say("  %-30s %22s %22s" % (label, fmt % got["threads"][key], fmt % got["balrog"][key]))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--mux-sessions", type=int, default=1000,
                    help="multiplexed part: sessions at once (0: skip the part)")
    ap.add_argument("--mux-transactions", type=int, default=10)
    ap.add_argument("--mux-think-ms", type=float, default=10.0)
    ap.add_argument("--mux-connections", type=int, default=20)
    args = ap.parse_args()
    if not 0 <= args.mux_sessions <= 2000:
        ap.error("--mux-sessions: 0 to 2000 (scripts/pg-cluster's PgBouncer max_client_conn)")
    if not 1 <= args.sessions <= 290:
        ap.error("--sessions: 1 to 290 (scripts/pg-cluster's server allows 300 connections)")
    build = os.path.abspath(args.build)
    gen = os.path.join(build, "bin", "balrog-gen")
    sync_bin = os.path.join(build, "examples", "pg-sessions", "pg_sessions_sync")
    balrog_bin = os.path.join(build, "examples", "pg-sessions", "pg_sessions_balrog")
    mux_client = os.path.join(build, "bench", "bench_pg_mux_sessions")
    if not os.access(gen, os.X_OK):
        say()
        say("balrog demo, part 2 (balrog-gen on a libpq program) skipped: %s was built without\n"
            "balrog-gen (BALROG_BUILD_TOOL=OFF, or Clang 16 missing: run scripts/bootstrap)."
            % os.path.relpath(build, ROOT))
        return 0
    for path in (sync_bin, balrog_bin):
        if not os.access(path, os.X_OK):
            sys.exit("run_demo: %s is missing (build the pg_sessions target)" % path)
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the cluster is stopped below.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit("run_demo: interrupted"))

    say()
    say("balrog demo, part 2: %d database sessions, in plain blocking libpq, rewritten by "
        "balrog-gen." % args.sessions)
    say()
    say("examples/pg-sessions/sessions.cpp is ordinary sync code: PQconnectdb, PQexecParams,\n"
        "sleep_for and usleep for think time, a std::mutex and a std::condition_variable. Each\n"
        "session connects, waits for the others, makes 3 transfers (a transaction each), runs a\n"
        "slow report (select pg_sleep(0.05)), checks that the balances add up, and disconnects.\n"
        "balrog-gen rewrites it (the libpq map is enabled in examples/pg-sessions/.balrog.yaml;\n"
        "-o is what balrog_wrap() runs at build time, without -o balrog-gen prints the diff):")
    say()
    mirror = show_rewrite(gen, build)
    say()
    say("The balrog build compiled exactly this rewrite (balrog_wrap() in\n"
        "examples/pg-sessions/CMakeLists.txt: %s);\n"
        "the sync build compiled sessions.cpp as it is. balrog-gen rewrites calls and types, not\n"
        "how the program starts its sessions: sessions.cpp calls run_sessions(n, fn), and each\n"
        "build links its own version: a std::thread per session (run_sessions_threads.cpp) or\n"
        "balrog::run with a fiber per session (run_sessions_fibers.cpp)." % mirror)
    say()

    tmp = tempfile.mkdtemp(prefix="balrog-demo-")
    os.chmod(tmp, 0o755)  # the server runs as `postgres` when we are root
    cluster = os.path.join(tmp, "pg")
    try:
        r = subprocess.run([PG_CLUSTER, "start", cluster], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("run_demo: could not start PostgreSQL:\n" + r.stdout + r.stderr)
        conninfo = r.stdout.strip().splitlines()[-1]
        say("PostgreSQL 15 started in %s (scripts/pg-cluster); each build runs in a fresh"
            % cluster)
        say("process against it, %d sessions at once:" % args.sessions)
        say()
        sync = measure(sync_bin, conninfo, args.sessions)
        fibers = measure(balrog_bin, conninfo, args.sessions)
        table(sync, fibers)
        summary(sync, fibers)
        if args.mux_sessions == 0:
            pass
        elif not os.access(mux_client, os.X_OK):
            say()
            say("balrog demo, part 2b (multiplexed sessions) skipped: %s is missing (build the\n"
                "bench_pg_mux_sessions target)." % os.path.relpath(mux_client, ROOT))
        else:
            log_path = os.path.join(build, "pg-sessions-demo.log")
            say()
            say("Where balrog wins: many short sessions, few server connections. %d sessions at\n"
                "once, each connecting, then running %d transactions (a PK select and an update\n"
                "of its own row) with %g ms of think time between them; the server gives them %d\n"
                "connections. The same plain libpq session code (bench/pg/mux_session.inc) runs\n"
                "  - on a std::thread per session, through PgBouncer in transaction mode\n"
                "    (%d server connections), and\n"
                "  - mapped to balrog::compat, a fiber per session on ONE thread, multiplexed onto\n"
                "    %d server connections (balrog::compat::set_multiplex: a session's statements\n"
                "    share a connection, pinned to one while it is in a transaction).\n"
                "Running both (programs' output: %s) ..."
                % (args.mux_sessions, args.mux_transactions, args.mux_think_ms,
                   args.mux_connections, args.mux_connections, args.mux_connections,
                   os.path.relpath(log_path, ROOT)))
            with open(log_path, "w") as log:
                got = mux_part(args, cluster, conninfo, mux_client, log)
            say()
            mux_table(got)
            t, b = got["threads"], got["balrog"]
            say()
            say("  balrog multiplexed: %.2fx the sessions/s of threads + PgBouncer, its sessions on\n"
                "  one thread, and no pooler process (PgBouncer's own CPU is in neither column).\n"
                "  %s"
                % (b["sessions_per_s"] / t["sessions_per_s"],
                   "No failed session; every row's final value is right on both sides." if
                   t["wrong_rows"] == 0 and b["wrong_rows"] == 0 and t["failed"] == 0
                   and b["failed"] == 0 else "FAILURES: see the log."))
    finally:
        subprocess.run([PG_CLUSTER, "stop", cluster], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    say("  PostgreSQL stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
