#!/usr/bin/python3
"""Area `http`, server cases (issue 12 §6): balrog's HTTP server vs nginx vs thread-per-connection.

    server_bench.py --balrog BIN --threads BIN --idle-client BIN [--rounds N] [--seconds S]
                    [--connections N] [--quick]

Run by `scripts/bench http`. Prints one JSON object per case on stdout (the shape of
bench/common/harness.hpp's emit()).

Servers, all answering GET /plaintext with "Hello, World!" (text/plain, keep-alive):
  balrog   bench_http_server_balrog: balrog::http::server, ONE shard (one thread), defaults;
  nginx    Debian's nginx, one worker, `return 200 "Hello, World!"`, access_log off;
  threads  bench_http_server_threads: a std::thread per connection, blocking sockets, the same
           Beast parser and serializer (what one writes without balrog).

Throughput: `wrk -t1 -c{64,256} -d S --latency`, no pipelining. Requests/s and the p99
latency wrk reports. The server runs pinned to CPU 0 and wrk to CPU 1 (taskset), so they
never compete for a core. Each round runs every server once, in an order that rotates from
round to round; one warm-up run per server and concurrency is discarded; the value is the
median of the rounds.

Idle connections: a fresh server, its RSS (VmRSS of the process that holds the connections:
nginx's worker) read before and after bench_http_server_idle_client opened N connections in
batches of 256 (each batch answered before the next starts), sent one request on each and left
them open and idle for a second (longer than balrog's idle_fiber_linger, so its connections
have given their fibers back). Bytes per connection =
the RSS growth / N (the kernel's socket buffers are not in RSS for any of them). The server's
thread count is read at the same moment. balrog's figure includes the fiber stacks its shard
keeps for reuse (up to 1,024, with the pages their last fibers touched): a fixed cost that
dominates with a thousand connections (--quick) and fades at ten thousand.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
PEER_NAMES = {
    "nginx": "nginx, 1 worker, return 200",
    "threads": "thread per connection, same Beast parser",
}


def log(msg):
    print("http_server_bench: " + msg, file=sys.stderr, flush=True)


def median(v):
    return statistics.median(v) if v else None


def pinned(cpu, cmd):
    if cpu is None:
        return cmd
    return ["taskset", "-c", str(cpu)] + cmd


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, seconds=10.0):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """One server process (or nginx's master and worker), pinned to the server CPU."""

    def __init__(self, kind, args, cpu):
        self.kind = kind
        self.tmp = None
        if kind == "nginx":
            self.tmp = tempfile.mkdtemp(prefix="balrog-bench-nginx-")
            self.port = free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(
                    "worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\n"
                    "error_log %s/error.log error;\n"
                    "events { worker_connections 20000; }\n"
                    "http {\n access_log off;\n keepalive_requests 10000000;\n"
                    " keepalive_timeout 300s;\n"
                    " client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
                    " uwsgi_temp_path %s; scgi_temp_path %s;\n"
                    " server {\n  listen 127.0.0.1:%d backlog=4096;\n"
                    "  location /plaintext { default_type text/plain; return 200 \"Hello, World!\"; }\n"
                    " }\n}\n" % ((self.tmp,) * 7 + (self.port,))
                )
            self.proc = subprocess.Popen(
                pinned(cpu, [NGINX, "-c", conf, "-p", self.tmp, "-e", self.tmp + "/error.log"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if not wait_listening(self.port):
                raise SystemExit("nginx did not start: " + self.proc.stderr.read())
        else:
            binary = args.balrog if kind == "balrog" else args.threads
            cmd = [binary] + (["--shards", "1"] if kind == "balrog" else [])
            self.proc = subprocess.Popen(pinned(cpu, cmd), stdout=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline()
            if not line.startswith("ready "):
                raise SystemExit("%s did not start (%r)" % (kind, line))
            self.port = int(line.split()[1])

    def serving_pid(self):
        """The process that holds the connections: nginx's worker, else the server itself."""
        if self.kind != "nginx":
            return self.proc.pid
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        kids = [int(p) for p in out.stdout.split()]
        return kids[0] if kids else self.proc.pid

    def status(self, field):
        with open("/proc/%d/status" % self.serving_pid()) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def run_wrk(port, connections, seconds, cpu):
    cmd = pinned(cpu, [WRK, "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                       "--timeout", "10s", "http://127.0.0.1:%d/plaintext" % port])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if not rps or not p99:
        raise SystemExit("could not read wrk's output:\n" + out)
    if errors:
        log("wrk reported errors against port %d: %s" % (port, errors.group(0)))
    return float(rps.group(1)), float(p99.group(1)) * UNITS[p99.group(2)]


def throughput_cases(args, server_cpu, client_cpu):
    kinds = ["balrog", "nginx", "threads"]
    servers = {k: Server(k, args, server_cpu) for k in kinds}
    results = {}
    try:
        for c in args.concurrency:
            samples = {k: {"rps": [], "p99": []} for k in kinds}
            if not args.quick:
                for k in kinds:  # warm-up, discarded
                    run_wrk(servers[k].port, c, 1, client_cpu)
            for r in range(args.rounds):
                order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]
                for k in order:
                    rps, p99 = run_wrk(servers[k].port, c, args.seconds, client_cpu)
                    samples[k]["rps"].append(rps)
                    samples[k]["p99"].append(p99)
                    log("c=%d round %d %s: %.0f requests/s, p99 %.3f ms" % (c, r, k, rps, p99))
            results[c] = samples
    finally:
        for s in servers.values():
            s.stop()
    for c, samples in results.items():
        for peer in ("nginx", "threads"):
            for metric, unit, better in (("rps", "requests/s", "higher"), ("p99", "ms", "lower")):
                name = "requests/s" if metric == "rps" else "p99 latency"
                vs = "nginx" if peer == "nginx" else "thread per connection"
                emit({
                    "case": "plaintext keep-alive, wrk -t1 -c%d: %s vs %s" % (c, name, vs),
                    "unit": unit,
                    "better": better,
                    "balrog": median(samples["balrog"][metric]),
                    "balrog_samples": samples["balrog"][metric],
                    "peer": PEER_NAMES[peer],
                    "peer_value": median(samples[peer][metric]),
                    "peer_samples": samples[peer][metric],
                    "rounds": args.rounds,
                    "pinning": "server CPU %s, wrk CPU %s" % (server_cpu, client_cpu),
                })


def idle_round(kind, args, server_cpu, client_cpu):
    server = Server(kind, args, server_cpu)
    try:
        before = server.status("VmRSS")
        client = subprocess.Popen(
            pinned(client_cpu, [args.idle_client, "--port", str(server.port), "--connections",
                                str(args.connections)]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = client.stdout.readline()
        if not line.startswith("ready "):
            raise SystemExit("idle client failed against %s: %r" % (kind, line))
        opened = int(line.split()[1])
        time.sleep(1.0)  # past balrog's idle_fiber_linger (100 ms): fibers given back
        after = server.status("VmRSS")
        threads = server.status("Threads")
        client.stdin.close()
        client.wait(60)
        per_connection = (after - before) * 1024.0 / max(opened, 1)
        log("%s: %d idle connections, RSS %d -> %d KiB (%.0f bytes each), %d threads"
            % (kind, opened, before, after, per_connection, threads))
        return per_connection, threads, opened
    finally:
        server.stop()


def idle_cases(args, server_cpu, client_cpu):
    kinds = ["balrog", "nginx", "threads"]
    memory = {k: [] for k in kinds}
    threads = {k: [] for k in kinds}
    for r in range(args.idle_rounds):
        order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]
        for k in order:
            per, t, _ = idle_round(k, args, server_cpu, client_cpu)
            memory[k].append(per)
            threads[k].append(t)
    n = "{:,}".format(args.connections)

    def case(name, unit, values, peer):
        emit({
            "case": "%s idle keep-alive connections: %s" % (n, name),
            "unit": unit, "better": "lower",
            "balrog": median(values["balrog"]), "balrog_samples": values["balrog"],
            "peer": PEER_NAMES[peer], "peer_value": median(values[peer]),
            "peer_samples": values[peer], "rounds": args.idle_rounds,
        })

    case("server memory per connection vs nginx", "bytes", memory, "nginx")
    case("server memory per connection vs thread per connection", "bytes", memory, "threads")
    case("server threads vs thread per connection", "threads", threads, "threads")


def emit(case):
    print(json.dumps(case), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--balrog", required=True)
    p.add_argument("--threads", required=True)
    p.add_argument("--idle-client", required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=10000)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    args.concurrency = [64, 256]
    args.idle_rounds = 3
    if args.quick:
        args.rounds, args.seconds, args.connections, args.idle_rounds = 1, 1, 1000, 1
    if args.rounds < 5 and not args.quick:
        raise SystemExit("at least 5 rounds (the benchmark contract)")
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    if server_cpu is None:
        log("one CPU only: the server and wrk share it (no pinning)")
    throughput_cases(args, server_cpu, client_cpu)
    idle_cases(args, server_cpu, client_cpu)


if __name__ == "__main__":
    main()
