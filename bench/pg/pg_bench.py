#!/usr/bin/python3
"""Area `pg` (issue 5 §6): balrog's Postgres driver vs pgbench, blocking libpq and asyncpg.

    pg_bench.py --client build/release/bench/bench_pg_client [--rounds N] [--seconds S] [--quick]

Run by `scripts/bench pg`. Starts a throwaway cluster (scripts/pg-cluster, Unix socket, fsync
off), loads pgbench's tables at scale 1 (pgbench_accounts: 100,000 rows, primary key aid), runs
every client against it, stops the cluster, and prints one JSON object per case on stdout (the
shape of bench/common/harness.hpp's emit()).

Queries: `SELECT 1`, and `SELECT abalance FROM pgbench_accounts WHERE aid = $1` with aid
uniform in 1..100,000 (pgbench's select-only script), both as prepared statements everywhere.
Concurrency 1, 10 and 100; closed loops (each client sends its next query when the previous
one answered). Clients, one process per measured run:
  balrog   bench_pg_client --mode balrog: ONE thread, N fibers, each with its own connection,
           blocking-style balrog::await(conn.query...) (no pool);
  pgbench  pgbench -n -M prepared -j 1 -c N -T S -f <script>: one client thread, like balrog;
  libpq    bench_pg_client --mode libpq: N threads, each a blocking PGconn and PQexecPrepared;
  sync     (c=1 only) bench_pg_client --mode balrog-sync: one plain thread, no balrog::run,
           the driver's generated blocking API, so every query is a sync-mode await (block_on
           on the thread's cached private scheduler); compared with blocking libpq;
  asyncpg  asyncpg_client.py (bench/pg/asyncpg_peer.py): uvloop, a pool of N, N tasks each
           holding one connection, fetchval (asyncpg's statement cache: prepared).
and, for pipelining, 100 fibers sharing ONE balrog connection, pipelined (the default) vs
connect_options{.pipeline = false} (statements take turns).

Each round runs every client of a configuration once, in an order that rotates from round to
round; the value is the median of the rounds. queries/s is counted over a window of S seconds
after a warm-up (pgbench: its own tps, excluding connection time). Client CPU per query:
balrog, libpq and asyncpg measure their own CPU time (getrusage RUSAGE_SELF) over the counted
window; pgbench cannot, so its CPU comes from wait4 on the pgbench process, minus the median
CPU of three `-t 1` runs with the same client count (start-up, connections, one query each).
The whole-process CPU from wait4 of every client is kept in the extra fields.

Multiplexed sessions (issue 11 §5; with --mux-client): --mux-sessions sessions at once, each
connecting and running --mux-transactions transactions (a PK select and an update of its own
row) with --mux-think-ms of think time, through --mux-connections server connections:
bench_pg_mux_sessions --mode threads (the plain libpq code, one thread per session, through
PgBouncer in transaction mode with that pool size) vs --mode balrog (the same code mapped to
balrog::compat, one thread, balrog::compat::set_multiplex). Rounds alternate the order; every
run checks every row's final value. --only-mux runs only this case.

The machine's cores are shared by the server and the client: every number is for the pair.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = "/usr/lib/postgresql/15/bin"
PGBENCH = PG_BIN + "/pgbench"
PYTHON = "/usr/bin/python3"
ASYNCPG_CLIENT = ROOT / "bench" / "pg" / "asyncpg_client.py"

QUERIES = {
    "select1": ("SELECT 1", "SELECT 1;\n"),
    "pk": (
        "PK select",
        "\\set aid random(1, 100000)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n",
    ),
}
CONCURRENCY = [1, 10, 100]
PEERS = {
    "pgbench": "pgbench -M prepared -j 1 (one thread)",
    "libpq": "blocking libpq, one thread per connection",
    "asyncpg": "asyncpg on uvloop, one task per pooled connection",
}


def log(msg):
    print("pg_bench: " + msg, file=sys.stderr, flush=True)


def median(v):
    s = sorted(v)
    n = len(s)
    if n == 0:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def parse_record(line):
    it = line.split()
    return {k: float(v) for k, v in zip(it[0::2], it[1::2])}


def spawn_measured(cmd, timeout_s):
    """Runs cmd; returns (stdout+stderr text, exit code, CPU seconds from wait4).

    A run that outlives timeout_s is killed (exit code -9): a hung client fails its case."""
    p = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(p.stdout.read()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if reader.is_alive():
        p.kill()
        reader.join()
    pid, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    return "".join(chunks), p.returncode, ru.ru_utime + ru.ru_stime


class Bench:
    def __init__(self, args, conninfo, workdir):
        self.args = args
        self.conninfo = conninfo
        ci = dict(kv.split("=", 1) for kv in conninfo.split())
        self.pg_args = ["-h", ci["host"], "-p", ci["port"], "-U", ci["user"], ci["dbname"]]
        self.workdir = workdir
        self.pgbench_base_cpu = {}
        self.pgbench_connect_s = {}

    def client_cmd(self, mode, query, clients, connections=None, pipeline=True):
        cmd = [
            self.args.client,
            "--mode",
            mode,
            "--conninfo",
            self.conninfo,
            "--query",
            query,
            "--clients",
            str(clients),
            "--warm-up",
            str(self.args.warm_up),
            "--seconds",
            str(self.args.seconds),
        ]
        if connections is not None:
            cmd += ["--connections", str(connections)]
        if not pipeline:
            cmd += ["--pipeline", "0"]
        return cmd

    def run_self_measuring(self, cmd, what):
        out, rc, total_cpu = spawn_measured(cmd, 60)
        lines = [l for l in out.splitlines() if l.startswith(("queries ", "connect_s "))]
        if rc != 0 or not lines:
            raise RuntimeError("%s failed (exit %d):\n%s" % (what, rc, out[-3000:]))
        r = parse_record(lines[-1])
        return {
            "qps": r["queries"] / r["seconds"],
            "cpu_us": 1e6 * r["cpu_s"] / r["queries"],
            "queries": r["queries"],
            "process_cpu_s": total_cpu,
            "connect_s": r["connect_s"],
        }

    def pgbench_script(self, query):
        path = os.path.join(self.workdir, "%s.sql" % query)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(QUERIES[query][1])
        return path

    def pgbench_cmd(self, query, clients, duration):
        cmd = [PGBENCH, "-n", "-M", "prepared", "-j", "1", "-c", str(clients)]
        cmd += duration + ["-f", self.pgbench_script(query)]
        return cmd + self.pg_args

    def pgbench_baseline(self, query, clients):
        key = (query, clients)
        if key not in self.pgbench_base_cpu:
            cpus = []
            connect = []
            for _ in range(3):
                out, rc, cpu = spawn_measured(self.pgbench_cmd(query, clients, ["-t", "1"]), 60)
                ms = re.search(r"^initial connection time = ([0-9.]+) ms", out, re.M)
                if rc != 0 or not ms:
                    raise RuntimeError("pgbench -t 1 failed:\n" + out[-3000:])
                cpus.append(cpu)
                connect.append(float(ms.group(1)) / 1000.0)
            self.pgbench_base_cpu[key] = median(cpus)
            self.pgbench_connect_s[key] = max(connect)
        return self.pgbench_base_cpu[key]

    def run_pgbench(self, query, clients):
        base = self.pgbench_baseline(query, clients)
        # -T counts from the start, and pgbench connects its clients one after another (100 of
        # them took 3 s on a loaded machine); its tps excludes that connection time. So -T is
        # the window plus 1.5x the connection time of the `-t 1` runs plus a second.
        seconds = int(round(self.args.seconds + 1.5 * self.pgbench_connect_s[(query, clients)])) + 1
        out, rc, cpu = spawn_measured(self.pgbench_cmd(query, clients, ["-T", str(seconds)]), 120)
        tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
        done = re.search(r"^number of transactions actually processed: (\d+)", out, re.M)
        failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
        if rc != 0 or not tps or not done or (failed and int(failed.group(1)) != 0):
            raise RuntimeError("pgbench failed (exit %d):\n%s" % (rc, out[-3000:]))
        n = int(done.group(1))
        return {
            "qps": float(tps.group(1)),
            "cpu_us": 1e6 * max(cpu - base, 0.0) / max(n - clients, 1),
            "queries": n,
            "process_cpu_s": cpu,
            "baseline_cpu_s": base,
            "duration_s": seconds,
        }

    def run_side(self, side, query, clients):
        if side == "balrog":
            return self.run_self_measuring(self.client_cmd("balrog", query, clients), side)
        if side == "libpq":
            return self.run_self_measuring(self.client_cmd("libpq", query, clients), side)
        if side == "sync":
            return self.run_self_measuring(self.client_cmd("balrog-sync", query, clients), side)
        if side == "pgbench":
            return self.run_pgbench(query, clients)
        if side == "asyncpg":
            cmd = [PYTHON, str(ASYNCPG_CLIENT), "--conninfo", self.conninfo, "--query", query]
            cmd += ["--clients", str(clients), "--warm-up", str(self.args.warm_up)]
            cmd += ["--seconds", str(self.args.seconds)]
            return self.run_self_measuring(cmd, side)
        if side in ("pipelined", "turns"):
            cmd = self.client_cmd("balrog", query, clients, 1, side == "pipelined")
            return self.run_self_measuring(cmd, side)
        raise ValueError(side)

    def rounds(self, sides, query, clients):
        """Every side once per round, the order rotating; returns {side: [result per round]}."""
        got = {s: [] for s in sides}
        for r in range(self.args.rounds):
            k = r % len(sides)
            for side in sides[k:] + sides[:k]:
                got[side].append(self.run_side(side, query, clients))
        return got


def emit(case, unit, better, balrog, peer, peer_samples, note, extra):
    out = {
        "case": case,
        "unit": unit,
        "better": better,
        "rounds": len(balrog),
        "warm_up_discarded": False,
        "balrog": median(balrog),
        "balrog_samples": balrog,
        "peer": peer,
        "peer_value": median(peer_samples) if peer else None,
        "peer_samples": peer_samples if peer else None,
    }
    out.update(extra)
    out["note"] = note
    print(json.dumps(out), flush=True)


def col(results, key):
    return [round(r[key], 4) for r in results]


def measure_all(bench, args):
    """Prints every case; returns the configurations that failed."""
    failures = []
    base_sides = ["balrog", "pgbench", "libpq", "asyncpg"]
    window = "%g s window after %g s warm-up" % (args.seconds, args.warm_up)
    for query in args.queries:
        qname = QUERIES[query][0]
        for clients in args.concurrency:
            load = os.getloadavg()[0]
            t0 = time.monotonic()
            # Sync mode (a plain thread, block_on per query) only at c=1: one caller per thread.
            sides = base_sides + (["sync"] if clients == 1 else [])
            got = bench.rounds(sides, query, clients)
            log("%s c=%d: %.0f s, %s"
                % (qname, clients, time.monotonic() - t0,
                   ", ".join("%s %.0f q/s" % (s, median(col(got[s], "qps"))) for s in sides)))
            common = {
                "clients": clients,
                "load_1m_before": round(load, 2),
                "balrog_process_cpu_s": col(got["balrog"], "process_cpu_s"),
            }
            for peer in ("pgbench", "libpq", "asyncpg"):
                extra = dict(common, peer_process_cpu_s=col(got[peer], "process_cpu_s"))
                emit(
                    "%s, c=%d: queries/s vs %s" % (qname, clients, peer),
                    "queries/s", "higher",
                    col(got["balrog"], "qps"), PEERS[peer], col(got[peer], "qps"),
                    "%d concurrent closed-loop clients; balrog: %d fibers on one thread, one "
                    "connection each; %s; %s" % (clients, clients, PEERS[peer], window),
                    extra,
                )
            for peer in ("pgbench", "libpq", "asyncpg"):
                extra = dict(common, peer_process_cpu_s=col(got[peer], "process_cpu_s"))
                if peer == "pgbench":
                    extra["pgbench_startup_cpu_s"] = bench.pgbench_base_cpu[(query, clients)]
                emit(
                    "%s, c=%d: client CPU per query vs %s" % (qname, clients, peer),
                    "µs", "lower",
                    col(got["balrog"], "cpu_us"), PEERS[peer], col(got[peer], "cpu_us"),
                    "client process CPU (user + system) per completed query; balrog/libpq/"
                    "asyncpg: getrusage over the counted window; pgbench: wait4 minus the CPU "
                    "of `-t 1` runs (start-up and connections)",
                    extra,
                )
            if clients == 1:
                lat_b = [1e6 / r["qps"] for r in got["balrog"]]
                lat_p = [1e6 / r["qps"] for r in got["libpq"]]
                emit(
                    "%s, c=1: latency per query vs libpq" % qname, "µs", "lower",
                    [round(x, 3) for x in lat_b], PEERS["libpq"], [round(x, 3) for x in lat_p],
                    "one client, closed loop: 1 / (queries/s), round trip through the server "
                    "included",
                    common,
                )
                diffs = [round(b - p, 3) for b, p in zip(lat_b, lat_p)]
                emit(
                    "%s, c=1: driver overhead per query over blocking libpq" % qname, "µs",
                    "lower", diffs, None, None,
                    "per round: balrog's latency per query minus blocking libpq's, measured "
                    "back to back in the same round; the value is the median of those "
                    "differences",
                    {"balrog_latency_us": median(lat_b), "libpq_latency_us": median(lat_p)},
                )
                lat_s = [1e6 / r["qps"] for r in got["sync"]]
                sync_common = dict(common, balrog_process_cpu_s=col(got["sync"], "process_cpu_s"),
                                   peer_process_cpu_s=col(got["libpq"], "process_cpu_s"))
                emit(
                    "%s, c=1: sync-mode latency per query vs libpq" % qname, "µs", "lower",
                    [round(x, 3) for x in lat_s], PEERS["libpq"], [round(x, 3) for x in lat_p],
                    "one plain thread, no balrog::run, the driver's blocking API (every query a "
                    "sync-mode await: block_on on the thread's cached scheduler); 1 / (queries/s)",
                    sync_common,
                )
                emit(
                    "%s, c=1: sync-mode client CPU per query vs libpq" % qname, "µs", "lower",
                    col(got["sync"], "cpu_us"), PEERS["libpq"], col(got["libpq"], "cpu_us"),
                    "sync mode (one plain thread, blocking API) vs blocking libpq: getrusage "
                    "over the counted window per completed query",
                    sync_common,
                )
                emit(
                    "%s, c=1: sync-mode overhead per query over blocking libpq" % qname, "µs",
                    "lower", [round(s_ - p, 3) for s_, p in zip(lat_s, lat_p)], None, None,
                    "per round: sync mode's latency per query minus blocking libpq's, measured "
                    "in the same round; the value is the median of those differences",
                    {"sync_latency_us": median(lat_s), "libpq_latency_us": median(lat_p)},
                )
    for query in args.queries:
        qname = QUERIES[query][0]
        load = os.getloadavg()[0]
        try:
            got = bench.rounds(["pipelined", "turns"], query, 100)
        except RuntimeError as e:
            # Reported, not hidden: the case is missing and pg_bench exits 1 at the end.
            log("ERROR: %s, 100 fibers on one connection: %s" % (qname, e))
            failures.append("%s, 100 fibers on one connection" % qname)
            continue
        log("%s, 100 fibers on one connection: pipelined %.0f q/s, taking turns %.0f q/s"
            % (qname, median(col(got["pipelined"], "qps")), median(col(got["turns"], "qps"))))
        emit(
            "%s, 100 fibers on ONE connection: pipelined vs taking turns, queries/s" % qname,
            "queries/s", "higher",
            col(got["pipelined"], "qps"),
            "the same 100 fibers, connect_options{.pipeline = false}",
            col(got["turns"], "qps"),
            "100 fibers on one thread share one pg::connection; balrog: pipelined (default), "
            "peer: statements take turns, one round trip each; " + window,
            {
                "load_1m_before": round(load, 2),
                "balrog_cpu_per_query_us": median(col(got["pipelined"], "cpu_us")),
                "peer_cpu_per_query_us": median(col(got["turns"], "cpu_us")),
            },
        )
    return failures


MUX_CASE = "multiplexed sessions: sessions/s vs threads + PgBouncer"


def start_pgbouncer(cluster, pool_size):
    """PgBouncer in transaction mode in front of `cluster` (scripts/pg-cluster), over TCP."""
    r = subprocess.run(
        [PYTHON, str(ROOT / "scripts" / "pg-cluster"), "pgbouncer", cluster, "--mode",
         "transaction", "--pool-size", str(pool_size)],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        raise RuntimeError("pgbouncer did not start:\n" + r.stdout + r.stderr)
    info = dict(kv.split("=", 1) for kv in r.stdout.strip().splitlines()[-1].split())
    return "host=127.0.0.1 port=%s user=%s dbname=%s" % (info["port"], info["user"],
                                                         info["dbname"])


def measure_mux(args, conninfo, cluster):
    """Issue 11 §5: many sessions, each connecting and running short transactions with think
    time, against `--mux-connections` server connections: unchanged libpq code on threads
    through PgBouncer (transaction mode, that many server connections) vs the same code mapped
    to balrog::compat on one thread, multiplexed onto that many connections. Prints the case;
    False when a run failed to produce a record."""
    bouncer = start_pgbouncer(cluster, args.mux_connections)
    common = ["--direct", conninfo, "--sessions", str(args.mux_sessions), "--transactions",
              str(args.mux_transactions), "--think-ms", str(args.mux_think_ms)]
    cmds = {
        "balrog": [args.mux_client, "--mode", "balrog", "--conninfo", conninfo, "--physical",
                   str(args.mux_connections)] + common,
        "threads": [args.mux_client, "--mode", "threads", "--conninfo", bouncer] + common,
    }
    got = {"balrog": [], "threads": []}
    worst = {"failed": 0.0, "wrong_rows": 0.0}
    load = os.getloadavg()[0]
    for rnd in range(args.rounds):
        for side in (["balrog", "threads"] if rnd % 2 == 0 else ["threads", "balrog"]):
            out, rc, total_cpu = spawn_measured(cmds[side], 600)
            lines = [l for l in out.splitlines() if l.startswith("cpu_s ")]
            if not lines:
                log("ERROR: %s, %s: no record (exit %d):\n%s" % (MUX_CASE, side, rc, out[-3000:]))
                return False
            r = parse_record(lines[-1])
            r["process_cpu_s"] = total_cpu
            got[side].append(r)
            if side == "balrog":  # the goal's conditions are on balrog's sessions
                for k in worst:
                    worst[k] = max(worst[k], r[k])
            log("%s round %d %s: %.0f sessions/s, %d failed, %d wrong rows"
                % (MUX_CASE, rnd + 1, side, r["sessions_per_s"], r["failed"], r["wrong_rows"]))
    emit(
        MUX_CASE, "sessions/s", "higher",
        [round(r["sessions_per_s"], 2) for r in got["balrog"]],
        "threads + PgBouncer 1.18 in transaction mode (%d server connections)"
        % args.mux_connections,
        [round(r["sessions_per_s"], 2) for r in got["threads"]],
        "%d sessions at once, each connecting then running %d transactions (a PK select and an "
        "update of its own row) with %g ms think time; balrog: the same libpq code mapped to "
        "balrog::compat, one thread, multiplexed onto %d server connections; peer: one thread "
        "per session through PgBouncer; failed / wrong_rows: the worst balrog round"
        % (args.mux_sessions, args.mux_transactions, args.mux_think_ms, args.mux_connections),
        {
            "load_1m_before": round(load, 2),
            "failed": worst["failed"],
            "wrong_rows": worst["wrong_rows"],
            "peer_failed": max(r["failed"] for r in got["threads"]),
            "peer_wrong_rows": max(r["wrong_rows"] for r in got["threads"]),
            "balrog_cpu_s": [round(r["cpu_s"], 3) for r in got["balrog"]],
            "peer_cpu_s": [round(r["cpu_s"], 3) for r in got["threads"]],
        },
    )
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--client", required=True, help="the bench_pg_client binary")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0, help="counted window per run")
    ap.add_argument("--warm-up", type=float, default=0.3)
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 round of 1 s")
    ap.add_argument("--queries", nargs="+", default=list(QUERIES), choices=list(QUERIES))
    ap.add_argument("--concurrency", nargs="+", type=int, default=CONCURRENCY)
    ap.add_argument("--mux-client", help="the bench_pg_mux_sessions binary (multiplexed "
                    "sessions case; skipped without it)")
    ap.add_argument("--mux-sessions", type=int, default=2000)
    ap.add_argument("--mux-transactions", type=int, default=20)
    ap.add_argument("--mux-think-ms", type=float, default=10.0)
    ap.add_argument("--mux-connections", type=int, default=20)
    ap.add_argument("--only-mux", action="store_true", help="run only the multiplexed case")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warm_up = 1, 1.0, 0.1
        args.mux_sessions, args.mux_transactions = min(args.mux_sessions, 100), 3
    else:
        args.rounds = max(args.rounds, 5)  # BENCH.md: medians of at least 5 runs
    args.seconds = max(1.0, float(round(args.seconds)))  # pgbench -T takes whole seconds
    for tool in (PGBENCH, args.client):
        if not os.access(tool, os.X_OK):
            sys.exit("pg_bench: %s is missing" % tool)
    workdir = tempfile.mkdtemp(prefix="balrog-bench-pg-", dir="/tmp")
    os.chmod(workdir, 0o755)  # the server runs as postgres (scripts/pg-cluster)
    cluster = os.path.join(workdir, "cluster")
    r = subprocess.run(
        [PYTHON, str(ROOT / "scripts" / "pg-cluster"), "start", cluster],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        sys.exit("pg_bench: could not start a cluster:\n" + r.stdout + r.stderr)
    conninfo = r.stdout.strip().splitlines()[-1]
    log("cluster: " + conninfo)
    try:
        bench = Bench(args, conninfo, workdir)
        init = subprocess.run(
            [PGBENCH, "-i", "-s", "1", "-q"] + bench.pg_args, capture_output=True, text=True
        )
        if init.returncode != 0:
            sys.exit("pg_bench: pgbench -i failed:\n" + init.stdout + init.stderr)
        subprocess.run(
            [PG_BIN + "/psql", "-q", "-c", "VACUUM ANALYZE"] + bench.pg_args,
            capture_output=True, text=True,
        )
        failures = [] if args.only_mux else measure_all(bench, args)
        if args.mux_client and not measure_mux(args, conninfo, cluster):
            failures.append(MUX_CASE)
    finally:
        subprocess.run(
            [PYTHON, str(ROOT / "scripts" / "pg-cluster"), "stop", cluster],
            capture_output=True, text=True,
        )
        for name in os.listdir(workdir) if os.path.isdir(workdir) else []:
            if name.endswith(".sql"):
                os.unlink(os.path.join(workdir, name))
        try:
            os.rmdir(workdir)
        except OSError:
            pass


    if failures:
        sys.exit("pg_bench: failed: " + "; ".join(failures))


if __name__ == "__main__":
    main()
