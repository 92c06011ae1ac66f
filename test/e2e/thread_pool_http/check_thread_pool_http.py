#!/usr/bin/env python3
"""e2e_thread_pool_http: the same thread-pool HTTP program as written and rewritten by balrog-gen.

  check_thread_pool_http.py --threads <thread_pool_http_threads> --balrog <thread_pool_http_balrog>
                            [--clients 500] [--pool 512] [--sleep-ms 50] [--tls-dir DIR]

Runs the build as written with minihttp's default pool (a std::thread per worker, a
std::thread per client) and the rewritten build with --pool workers (fibers, like the
clients), twice: with the handler's --sleep-ms, and with --concurrency-sleep-ms. Checks,
without wall-clock thresholds:
  - every run answered every client, and the stdouts (the responses in client order) are
    identical;
  - the rewritten build ran every handler and client on one OS thread (distinct gettid()s);
  - its requests were served concurrently: in the run with the long sleep, the most handlers
    sleeping at once is at least 80% of the clients (the pool is larger than the clients, so
    only a serialized or blocked run falls short). The sleep is long so that a busy machine,
    which delays the one thread, cannot make the early handlers finish before the last ones
    start (with 50 ms, a load of 11 on 2 cores let it drop to 310 of 500);
  - the build as written never had more handlers at once than its pool has threads.
With --tls-dir (builds with MINIHTTP_OPENSSL_SUPPORT) it makes a self-signed certificate for
"localhost" there with the openssl command and runs both builds over HTTPS too (as written with
--sleep-ms, rewritten with the long sleep): the same responses, and the same checks of the
rewritten one (one OS thread, 80% of the handlers at once; a TLS handshake that blocked the
thread would hang it, server and clients being fibers of one thread).
Elapsed times are printed, not checked: bench/gen/thread_pool_http.py measures them.
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "support"))
from certificate import make_localhost_certificate  # noqa: E402 (test/e2e/support)


def run(binary, args, timeout):
    proc = subprocess.run([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)
    stats = re.search(r"^stats: (.*)$", proc.stderr, re.M)
    if proc.returncode != 0 or not stats:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"FAIL: {binary} {' '.join(args)} exited {proc.returncode}")
    fields = dict(kv.split("=", 1) for kv in stats.group(1).split())
    print(f"{binary.rsplit('/', 1)[-1]} {' '.join(args)}: {stats.group(1)}")
    return proc.stdout, fields


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", required=True)
    parser.add_argument("--balrog", required=True)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--pool", type=int, default=512, help="workers of the rewritten build")
    parser.add_argument("--sleep-ms", type=int, default=50)
    parser.add_argument("--concurrency-sleep-ms", type=int, default=2000)
    parser.add_argument("--tls-dir", help="also test HTTPS, with a certificate made here")
    args = parser.parse_args()
    common = ["--clients", str(args.clients), "--sleep-ms", str(args.sleep_ms)]
    pool = ["--pool", str(args.pool)]

    out_balrog, balrog = run(args.balrog, common + pool, 120)
    out_long, long_sleep = run(args.balrog, ["--clients", str(args.clients), "--sleep-ms",
                                             str(args.concurrency_sleep_ms)] + pool, 120)
    out_threads, threads = run(args.threads, common, 240)
    tls_runs = []
    if args.tls_dir:
        cert, key = make_localhost_certificate(args.tls_dir)
        tls = ["--tls-cert", cert, "--tls-key", key]
        out_tls_threads, tls_threads = run(args.threads, common + tls, 240)
        out_tls_balrog, tls_balrog = run(
            args.balrog, ["--clients", str(args.clients), "--sleep-ms",
                          str(args.concurrency_sleep_ms)] + pool + tls, 120)
        tls_runs = [("HTTPS as written", out_tls_threads, tls_threads),
                    ("HTTPS rewritten", out_tls_balrog, tls_balrog)]

    failures = []
    expected_lines = [f"client {i}: 200 hello {i}" for i in range(args.clients)]
    if out_threads.splitlines() != expected_lines:
        failures.append("the build as written did not answer every client as expected")
    if out_balrog != out_threads or out_long != out_threads:
        failures.append("the rewritten build's responses differ from the build as written")
    for label, out, _ in tls_runs:
        if out != out_threads:
            failures.append(f"{label}: the responses differ from plain HTTP's")
    for stats in [balrog, long_sleep] + [s for label, _, s in tls_runs if "rewritten" in label]:
        if int(stats["os_threads"]) != 1:
            failures.append(f"the rewritten build ran on {stats['os_threads']} OS threads, not 1")
        if int(stats["pool"]) != args.pool:
            failures.append(f"the rewritten build's pool has {stats['pool']} workers")
    for stats in [long_sleep] + [s for label, _, s in tls_runs if "rewritten" in label]:
        if int(stats["most_in_handler"]) < args.clients * 8 // 10:
            failures.append(f"the rewritten build had at most {stats['most_in_handler']} of "
                            f"{args.clients} handlers sleeping at once")
    if int(threads["most_in_handler"]) > int(threads["pool"]):
        failures.append("the build as written had more handlers at once than pool threads")
    for f in failures:
        print(f"FAIL: {f}")
    if failures:
        return 1
    print(f"PASS: identical responses; rewritten: {long_sleep['most_in_handler']} handlers at "
          f"once on 1 OS thread ({balrog['most_in_handler']} with {args.sleep_ms} ms, in "
          f"{balrog['elapsed_ms']} ms); as written: pool of {threads['pool']} threads, "
          f"{threads['most_in_handler']} at once, {threads['elapsed_ms']} ms")
    if tls_runs:
        print(f"PASS: HTTPS too: identical responses; rewritten: "
              f"{tls_runs[1][2]['most_in_handler']} handlers at once on 1 OS thread")
    return 0


if __name__ == "__main__":
    sys.exit(main())
