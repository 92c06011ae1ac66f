#!/usr/bin/python3
"""Area `python` (issue 13 §9): balrog's Python package vs gevent, asyncpg, psycopg2 and
psycopg 3.

    python_bench.py --package build/release/pybridge [--rounds N] [--seconds S] [--quick]

Run by `scripts/bench python`. Two parts, every program in its own process, balrog and its
peers alternating round by round (the order rotates); values are medians over the rounds:
  switching  switch_bench.py: balrog.sleep(0) round trip and spawn + join, vs gevent;
  Postgres   pg_clients.py: 100 callers on 10 connections, `SELECT 1` and a primary-key select
             (pgbench_accounts, scale 1, aid uniform in 1..100,000), queries/s and client CPU
             per query: balrog.pg (greenlets, shared pipelined connections) vs asyncpg on uvloop
             (a pool of 10), psycopg2 under gevent + psycogreen and psycopg 3 async (10
             connections handed around). A throwaway cluster (scripts/pg-cluster) serves them.
  HTTP       http_clients.py: 1,000 concurrent GETs to delay_server.py (answers after 100 ms),
             wall time and client CPU: balrog.http in greenlets and requests patched by
             balrog.patch() vs requests on 1,000 threads, requests under gevent and aiohttp
             (when installed).
Prints one JSON object per case on stdout (bench/common/harness.hpp's shape). The machine's
cores are shared by the server and the client: the Postgres numbers are for the pair.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
PG_BIN = "/usr/lib/postgresql/15/bin"

PG_PEERS = {
    "asyncpg": "asyncpg on uvloop, a pool of 10",
    "psycopg2-gevent": "psycopg2 under gevent + psycogreen",
    "psycopg3-async": "psycopg 3 async (AsyncConnection)",
}
QUERIES = {"select1": "SELECT 1", "pk": "PK select"}


def log(msg):
    print("python_bench: " + msg, file=sys.stderr, flush=True)


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def run(cmd, env, timeout):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(cmd), r.returncode,
                                                         (r.stdout + r.stderr)[-3000:]))
    return r.stdout


def record(out, first_word):
    line = [l for l in out.splitlines() if l.startswith(first_word + " ")][-1].split()
    return {k: float(v) for k, v in zip(line[0::2], line[1::2])}


def emit(case, unit, better, balrog, peer, peer_samples, balrog_samples, rounds, **extra):
    obj = {"case": case, "unit": unit, "better": better, "balrog": median(balrog_samples),
           "balrog_samples": balrog_samples, "peer": peer,
           "peer_value": median(peer_samples) if peer_samples else None,
           "peer_samples": peer_samples, "rounds": rounds}
    obj.update(extra)
    print(json.dumps(obj), flush=True)


def switching(args, env):
    cases = [("sleep0", "sleep(0) round trip"), ("spawn", "spawn + join")]
    for key, name in cases:
        samples = {"balrog": [], "gevent": []}
        for r in range(args.rounds):
            for lib in (["balrog", "gevent"] if r % 2 == 0 else ["gevent", "balrog"]):
                out = run([PYTHON, str(HERE / "switch_bench.py"), "--lib", lib, "--case", key,
                           "--ops", str(args.ops)], env, 300)
                samples[lib].append(record(out, "ns_per_op")["ns_per_op"])
        emit(name + " vs gevent", "ns", "lower", None, "gevent 22.10", samples["gevent"],
             samples["balrog"], args.rounds)


def start_cluster(workdir):
    out = subprocess.run([str(ROOT / "scripts" / "pg-cluster"), "start", workdir],
                         capture_output=True, text=True, check=True).stdout.strip()
    ci = dict(kv.split("=", 1) for kv in out.split())
    pgbench = [PG_BIN + "/pgbench", "-i", "-s", "1", "-q", "-h", ci["host"], "-p", ci["port"],
               "-U", ci["user"], ci["dbname"]]
    subprocess.run(pgbench, capture_output=True, text=True, check=True)
    return out


def postgres(args, env):
    workdir = tempfile.mkdtemp(prefix="balrog-bench-python-")
    conninfo = start_cluster(workdir)
    try:
        drivers = ["balrog"] + list(PG_PEERS)
        for query, qname in QUERIES.items():
            qps = {d: [] for d in drivers}
            cpu = {d: [] for d in drivers}
            for r in range(args.rounds):
                order = drivers[r % len(drivers):] + drivers[:r % len(drivers)]
                for d in order:
                    out = run([PYTHON, str(HERE / "pg_clients.py"), "--driver", d, "--conninfo",
                               conninfo, "--query", query, "--clients", "100", "--connections",
                               "10", "--warm-up", str(args.warm_up), "--seconds",
                               str(args.seconds)], env, 120)
                    rec = record(out, "queries")
                    qps[d].append(rec["queries"] / rec["seconds"])
                    cpu[d].append(1e6 * rec["cpu_s"] / max(rec["queries"], 1))
            for peer, label in PG_PEERS.items():
                emit("%s, 100 greenlets on 10 connections: queries/s vs %s" % (qname, peer),
                     "queries/s", "higher", None, label, qps[peer], qps["balrog"], args.rounds)
                emit("%s, 100 greenlets on 10 connections: client CPU per query vs %s"
                     % (qname, peer), "us", "lower", None, label, cpu[peer], cpu["balrog"],
                     args.rounds)
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg-cluster"), "stop", workdir],
                       capture_output=True, text=True)


HTTP_PEERS = {
    "requests-threads": "requests, a thread per request",
    "requests-gevent": "requests under gevent's monkey-patching",
    "aiohttp": "aiohttp, one ClientSession",
}


def http(args, env):
    server = subprocess.Popen([PYTHON, str(HERE / "delay_server.py"), "--delay-ms", "100"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        port = int(server.stdout.readline().split()[1])
        url = "http://127.0.0.1:%d/" % port
        clients = ["balrog", "requests-patched"] + list(HTTP_PEERS)
        probe = subprocess.run([PYTHON, "-c", "import aiohttp"], capture_output=True, env=env)
        if probe.returncode != 0:
            log("aiohttp is not installed: left out")
            clients.remove("aiohttp")
        took = {c: [] for c in clients}
        cpu = {c: [] for c in clients}
        for r in range(args.rounds):
            for c in clients[r % len(clients):] + clients[:r % len(clients)]:
                out = run([PYTHON, str(HERE / "http_clients.py"), "--client", c, "--url", url,
                           "--requests", str(args.http_requests)], env, 300)
                rec = record(out, "seconds")
                took[c].append(rec["seconds"])
                cpu[c].append(1e6 * rec["cpu_s"] / args.http_requests)
        what = "%d concurrent GETs, 100 ms server" % args.http_requests
        for mine in ("balrog", "requests-patched"):
            label = "balrog.http" if mine == "balrog" else "patched requests"
            for peer in [c for c in clients if c in HTTP_PEERS]:
                emit("%s: %s wall time vs %s" % (what, label, peer), "s", "lower", None,
                     HTTP_PEERS[peer], took[peer], took[mine], args.rounds)
                emit("%s: %s client CPU per request vs %s" % (what, label, peer), "us",
                     "lower", None, HTTP_PEERS[peer], cpu[peer], cpu[mine], args.rounds)
    finally:
        server.kill()
        server.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--package", required=True, help="the folder holding the balrog package")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--warm-up", type=float, default=1.0)
    p.add_argument("--ops", type=int, default=200_000)
    p.add_argument("--http-requests", type=int, default=1000)
    p.add_argument("--only", choices=["switching", "postgres", "http"], action="append",
                   help="run only these parts (repeatable)")
    p.add_argument("--quick", action="store_true", help="one short round: a smoke test")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warm_up, args.ops = 1, 0.5, 0.2, 20_000
        args.http_requests = 50
    env = dict(os.environ, PYTHONPATH=str(Path(args.package).resolve()),
               PYTHONDONTWRITEBYTECODE="1")
    for name, part in (("switching", switching), ("postgres", postgres), ("http", http)):
        if not args.only or name in args.only:
            part(args, env)


if __name__ == "__main__":
    main()
