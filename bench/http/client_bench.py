#!/usr/bin/python3
"""Area `http`, client cases (issue 12 §6): balrog's HTTP client vs libcurl used directly.

    client_bench.py --client-load build/release/bench/bench_http_client_load \\
                    --raw-multi build/release/bench/bench_http_raw_multi \\
                    [--rounds N] [--seconds S] [--quick]

Run by `scripts/bench http`. Starts nginx (one worker, `return 200`, keep-alive, on loopback)
and a delay server (bench/http/delay_server.py: answers after 100 ms), runs the clients, stops
the servers, and prints one JSON object per case on stdout (the shape of bench/common/
harness.hpp's emit()).

Clients, each a fresh process per measured run, closed loops (a request goes out when the
previous one on its slot answered), requests/s counted over S seconds after a warm-up:
  balrog        bench_http_client_load --mode balrog: ONE thread, N fibers, each looping
                http::blocking::get (the generated blocking face of balrog's client);
  raw multi     bench_http_raw_multi: the minimal efficient libcurl client in C — ONE thread,
                one multi handle, multi-socket API + epoll, N easy handles re-added as they
                finish;
  easy threads  bench_http_client_load --mode easy-threads: N threads, each looping libcurl's
                curl_easy_perform on its own handle.
at N = 1 and N = 256 requests in flight. Compat: 1,000 fibers of ONE thread, each one
balrog::compat::curl_easy_perform against the delay server, vs 1,000 threads each calling
libcurl's curl_easy_perform; the value is the wall time until all are done. The delay server
is part of what that case measures: it runs on one core and must accept, read and answer 1,000
connections within the window, so it is written on asyncio's Protocol layer (its streams
version needed 120-220 ms of CPU per 1,000 requests; see delay_server.py).

With two or more cores, the servers run on the last core and the clients on the first
(taskset), so neither steals the other's CPU; the numbers are for that pair. Each round runs
every client of a configuration once, in an order that rotates; values are medians of the
rounds.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"
NGINX = "/usr/sbin/nginx"
INFLIGHT = [1, 256]
COMPAT_COUNT = 1000


def log(msg):
    print("http client_bench: " + msg, file=sys.stderr, flush=True)


def median(v):
    s = sorted(v)
    n = len(s)
    return None if n == 0 else (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0)


def cores():
    return sorted(os.sched_getaffinity(0))


def die_with_parent():
    """preexec_fn: the server gets SIGTERM when this script dies (even by SIGKILL)."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM


def pinned(cmd, core):
    """cmd run on one core (taskset), when there are cores to spare."""
    if core is None or shutil.which("taskset") is None:
        return cmd
    return ["taskset", "-c", str(core)] + cmd


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    import socket
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Nginx:
    def __init__(self, core):
        self.dir = tempfile.mkdtemp(prefix="balrog-bench-nginx.")
        self.port = free_port()
        user = "user root;\n" if os.geteuid() == 0 else ""
        affinity = "worker_cpu_affinity %s;\n" % format(1 << core, "b") if core is not None else ""
        conf = (user + "worker_processes 1;\n" + affinity + "daemon off;\n"
                "pid %(d)s/nginx.pid;\nerror_log %(d)s/error.log warn;\n"
                "events { worker_connections 8192; }\n"
                "http {\n  access_log off;\n  keepalive_requests 10000000;\n"
                "  client_body_temp_path %(d)s/body;\n  proxy_temp_path %(d)s/proxy;\n"
                "  fastcgi_temp_path %(d)s/fcgi;\n  uwsgi_temp_path %(d)s/uwsgi;\n"
                "  scgi_temp_path %(d)s/scgi;\n"
                "  server {\n    listen 127.0.0.1:%(p)d backlog=4096;\n"
                "    location = /hello { default_type text/plain; return 200 \"hello\\n\"; }\n"
                "  }\n}\n") % {"d": self.dir, "p": self.port}
        Path(self.dir, "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(pinned([NGINX, "-p", self.dir, "-c", self.dir + "/nginx.conf"],
                                            core), preexec_fn=die_with_parent)
        if not wait_port(self.port):
            raise SystemExit("nginx did not start: " + Path(self.dir, "error.log").read_text())
        self.url = "http://127.0.0.1:%d/hello" % self.port

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class DelayServer:
    def __init__(self, core, delay_ms=100):
        self.proc = subprocess.Popen(
            pinned([PYTHON, str(ROOT / "bench" / "http" / "delay_server.py"),
                    "--delay-ms", str(delay_ms)], core),
            stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
        line = self.proc.stdout.readline()
        self.url = "http://127.0.0.1:%d/delay" % int(line.split()[1])

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def run_client(cmd, timeout_s):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout_s, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit("client failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr))
    values = dict(zip(r.stdout.split()[0::2], r.stdout.split()[1::2]))
    return {k: float(v) for k, v in values.items()}


def emit(case, unit, better, balrog, peer, peer_samples, rounds, **extra):
    out = {
        "case": case, "unit": unit, "better": better,
        "balrog": median(balrog), "balrog_samples": balrog,
        "peer": peer, "peer_value": median(peer_samples) if peer else None,
        "peer_samples": peer_samples if peer else [], "rounds": rounds,
    }
    out.update(extra)
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client-load", required=True)
    ap.add_argument("--raw-multi", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rounds = max(args.rounds, 5)
    seconds, warmup = (args.seconds, 1.0) if not args.quick else (0.5, 0.2)

    cs = cores()
    client_core, server_core = (cs[0], cs[-1]) if len(cs) >= 2 else (None, None)
    nginx = Nginx(server_core)
    delay = DelayServer(server_core)
    try:
        for n in INFLIGHT:
            clients = {
                "balrog": [args.client_load, "--mode", "balrog", "--url", nginx.url,
                           "--inflight", str(n), "--seconds", str(seconds),
                           "--warmup", str(warmup)],
                "raw": [args.raw_multi, nginx.url, str(n), str(seconds), str(warmup)],
                "threads": [args.client_load, "--mode", "easy-threads", "--url", nginx.url,
                            "--inflight", str(n), "--seconds", str(seconds),
                            "--warmup", str(warmup)],
            }
            rps = {k: [] for k in clients}
            cpu = {k: [] for k in clients}
            order = list(clients)
            for r in range(rounds):
                for name in order[r % 3:] + order[:r % 3]:
                    got = run_client(pinned(clients[name], client_core), 120 + seconds * 4)
                    rps[name].append(got["requests"] / got["seconds"])
                    cpu[name].append(got["cpu"] / max(got["requests"], 1) * 1e6)
                log("n=%d round %d: %s" % (n, r, {k: round(v[-1]) for k, v in rps.items()}))
            cpu_extra = {"cpu_us_per_request": {k: median(v) for k, v in cpu.items()}}
            emit("client, %d in flight: requests/s vs a raw libcurl multi loop in C" % n,
                 "req/s", "higher", rps["balrog"], "raw libcurl multi-socket + epoll (C), 1 thread",
                 rps["raw"], rounds, **cpu_extra)
            emit("client, %d in flight: requests/s vs %d %s calling curl_easy_perform"
                 % (n, n, "thread" if n == 1 else "threads"),
                 "req/s", "higher", rps["balrog"],
                 "%d thread%s, libcurl curl_easy_perform" % (n, "" if n == 1 else "s"),
                 rps["threads"], rounds, **cpu_extra)

        compat = {"compat": [], "compat-threads": []}
        for r in range(rounds):
            modes = list(compat) if r % 2 == 0 else list(reversed(list(compat)))
            for mode in modes:
                got = run_client(pinned([args.client_load, "--mode", mode, "--url", delay.url,
                                         "--count", str(COMPAT_COUNT)], client_core), 300)
                compat[mode].append(got["wall_ms"])
            log("compat round %d: %s" % (r, {k: round(v[-1]) for k, v in compat.items()}))
        emit("compat: 1,000 fibers x curl_easy_perform, server answers after 100 ms: wall time",
             "ms", "lower", compat["compat"], "1,000 threads x libcurl curl_easy_perform",
             compat["compat-threads"], rounds)
    finally:
        nginx.stop()
        delay.stop()


if __name__ == "__main__":
    main()
