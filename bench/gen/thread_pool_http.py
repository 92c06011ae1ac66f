#!/usr/bin/python3
"""test/e2e/thread_pool_http's program, as written vs rewritten by balrog-gen (issue 15 §4).

    bench/gen/thread_pool_http.py --threads BIN --balrog BIN [--rounds N] [--quick]
                                  [--clients 500] [--sleep-ms 50] [--pool 512]

BIN are thread_pool_http_threads (the sources as written: minihttp's std::thread pool, a
std::thread per client) and thread_pool_http_balrog (the same sources through balrog_wrap():
every std::thread a fiber of one OS thread). Each run: a server on the vendored cpp-httplib-style
library whose handler sleeps --sleep-ms, and --clients clients at once, one request each.

Prints one JSON object per case on stdout (the shape of bench/common/harness.hpp: case, unit,
better, balrog, balrog_samples, peer, peer_value, peer_samples, rounds, ...); scripts/bench gen
collects them. The value is the program's own elapsed time from the first client's start to
the last client's join (its "stats:" line), in seconds. Cases:
  - rewritten, --pool workers (fibers) vs as written with minihttp's default pool
    (max(8, cores - 1) OS threads): what the issue's goal measures;
  - rewritten vs as written, both with --pool workers: fibers of one thread vs OS threads.
Each case: one discarded warm-up run per side, then N rounds alternating, rotating which goes
first. Also recorded: CPU time (user + system, from wait4) and peak RSS of each side, the
most handlers sleeping at once, and how long the rewritten build's one thread waited for a CPU
while runnable (/proc/thread-self/schedstat: on a busy machine, most of its elapsed time past
the handler's sleep).
Standard library only (run it with /usr/bin/python3).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time


def run_once(cmd: list) -> tuple:
    """Runs cmd; returns (elapsed s from its stats line, cpu s, peak RSS MiB, stats dict)."""
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        err = p.stderr.read().decode(errors="replace")
        _, status, ru = os.wait4(p.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    m = re.search(r"^stats: (.*)$", err, re.M)
    if code != 0 or not m:
        sys.stderr.write(err[-3000:])
        raise SystemExit("thread_pool_http: %s exited with %d" % (" ".join(cmd), code))
    stats = dict(kv.split("=", 1) for kv in m.group(1).split())
    return (float(stats["elapsed_ms"]) / 1000.0, ru.ru_utime + ru.ru_stime,
            ru.ru_maxrss / 1024.0, stats)


def alternate(rounds: int, side_b, side_p) -> tuple:
    side_b()
    side_p()
    b, p = [], []
    for i in range(rounds):
        if i % 2 == 0:
            b.append(side_b())
            p.append(side_p())
        else:
            p.append(side_p())
            b.append(side_b())
    return b, p


def emit(name, peer, b, p, note) -> None:
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    c = {
        "case": name,
        "unit": "s",
        "better": "lower",
        "rounds": len(b),
        "warm_up_discarded": True,
        "balrog": round(med(b, 0), 4),
        "balrog_samples": [round(x[0], 4) for x in b],
        "peer": peer,
        "peer_value": round(med(p, 0), 4),
        "peer_samples": [round(x[0], 4) for x in p],
        "cpu_s": round(med(b, 1), 4),
        "peer_cpu_s": round(med(p, 1), 4),
        "peak_rss_mib": round(med(b, 2), 1),
        "peer_peak_rss_mib": round(med(p, 2), 1),
        "most_in_handler": int(med(b, 3)),
        "peer_most_in_handler": int(med(p, 3)),
        # The rewritten build runs everything on its main thread: the time that thread waited
        # for a CPU while runnable is what a busy machine added to its elapsed time.
        "main_thread_runqueue_s": round(med(b, 5), 4),
        "main_thread_runqueue_samples": [round(x[5], 4) for x in b],
        "note": note,
    }
    print(json.dumps(c), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", required=True, help="thread_pool_http_threads")
    ap.add_argument("--balrog", required=True, help="thread_pool_http_balrog")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="2 rounds, 100 clients")
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--sleep-ms", type=int, default=50)
    ap.add_argument("--pool", type=int, default=512, help="workers of the rewritten build")
    a = ap.parse_args()
    rounds, clients = (2, 100) if a.quick else (a.rounds, a.clients)
    common = ["--clients", str(clients), "--sleep-ms", str(a.sleep_ms)]

    def side(binary, extra):
        def once():
            wall, cpu, rss, stats = run_once([binary] + common + extra)
            return (wall, cpu, rss, int(stats["most_in_handler"]), int(stats["pool"]),
                    float(stats["main_thread_runqueue_ms"]) / 1000.0)
        return once

    pool = ["--pool", str(a.pool)]
    t0 = time.monotonic()
    b, p = alternate(rounds, side(a.balrog, pool), side(a.threads, []))
    default_pool = p[0][4]
    emit("thread-pool HTTP, %d clients x %d ms handler: rewritten (%d fiber workers) vs as "
         "written (default pool)" % (clients, a.sleep_ms, a.pool),
         "the same sources as written: minihttp's default pool of %d std::threads, a "
         "std::thread per client" % default_pool, b, p,
         "issue 15 §4: the rewritten build runs every worker and client as a fiber of one OS "
         "thread, so its pool can be as large as the clients; as written, %d OS-thread workers "
         "serve the %d requests in about %d windows of %d ms"
         % (default_pool, clients, -(-clients // default_pool), a.sleep_ms))
    b, p = alternate(rounds, side(a.balrog, pool), side(a.threads, pool))
    emit("thread-pool HTTP, %d clients x %d ms handler, %d workers in both: fibers vs OS threads"
         % (clients, a.sleep_ms, a.pool),
         "the same sources as written with %d std::thread workers, a std::thread per client"
         % a.pool, b, p,
         "the same pool size in both builds: %d fibers on one OS thread vs %d OS threads"
         % (a.pool + clients + 1, a.pool + clients + 1))
    sys.stderr.write("thread_pool_http: %.1f s\n" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
