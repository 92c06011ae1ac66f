#!/usr/bin/python3
"""The food-delivery flow as a plain sync C++ program, both builds (ctest: food_delivery_cpp_flow).

Starts a throwaway PostgreSQL cluster (scripts/pg-cluster) with a database per build, a WebSocket
receiver (in this process: Python's websockets, on a free loopback port) and, for each build, a
fresh kitchen (../kitchen.py on balrog's HTTP server, answering 201 {"mins": 25} after --delay
s). Then runs place_orders_sync (as written, a std::thread per order) and place_orders_balrog
(through balrog_wrap(): a fiber per order) on --orders orders each and checks, for each build:

  - the program exits 0 and answers 201 {"order": N, "mins": 25} for orders 1..--orders;
  - every order's row is in its database: customer-0..customer-K-1, accepted, 25 minutes;
  - every customer got exactly one WebSocket message, "Order #N will be delivered in 25
    minutes.", N being the id of that customer's row;
  - the kitchen had at least two of the build's orders cooking at once (its /stats): the orders
    overlapped;

then that both builds printed the same answers and sent the same messages, and that the wrapped
build ran all its orders on one OS thread (the program counts gettid() values). No check
depends on how long anything took.

    cpp_flow_test.py --pythonpath BUILD/pybridge --sync BIN --balrog BIN [--orders 50] [--delay 0.1]
"""

import argparse
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.dirname(HERE)
SOURCE_DIR = os.path.dirname(os.path.dirname(EXAMPLE))
PG_CLUSTER = os.path.join(SOURCE_DIR, "scripts", "pg-cluster")
PYTHON = "/usr/bin/python3"
KITCHEN_MINS = 25
MESSAGE = re.compile(r"^Order #(\d+) will be delivered in (\d+) minutes\.$")
SUMMARY = re.compile(r"^place_orders: (\d+) orders, (\d+) accepted, .* the orders ran on (\d+) "
                     r"OS thread\(s\)$")


class Failure(Exception):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_until(what, check, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Failure:
            raise
        except Exception as e:  # not up yet
            last = e
        time.sleep(interval)
    raise Failure(f"timed out after {timeout} s waiting for {what}" +
                  (f" (last error: {last!r})" if last else ""))


class Receiver:
    """A WebSocket server on its own thread and event loop: records (path, customer, message)
    for every text message any client sends."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.port = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(30) or self.port is None:
            raise Failure("the WebSocket receiver did not start")

    def _run(self):
        import websockets

        async def handler(ws, path):
            url = urlsplit(path)
            customer = parse_qs(url.query).get("customer", [""])[0]
            async for msg in ws:
                with self.lock:
                    self.messages.append((url.path, customer, msg))

        async def main():
            server = await websockets.serve(handler, "127.0.0.1", 0, ping_interval=None)
            self.port = server.sockets[0].getsockname()[1]
            self.server = server
            self.ready.set()
            await server.wait_closed()

        try:
            self.loop.run_until_complete(main())
        finally:
            self.ready.set()

    def received(self, path):
        with self.lock:
            return [(c, m) for p, c, m in self.messages if p == path]

    def stop(self):
        if getattr(self, "server", None) is not None:
            self.loop.call_soon_threadsafe(self.server.close)
        self.thread.join(10)


class Kitchen:
    def __init__(self, name, env, delay, workdir):
        self.port = free_port()
        self.log_path = os.path.join(workdir, name + ".log")
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [PYTHON, os.path.join(EXAMPLE, "kitchen.py"), "--bind", f"127.0.0.1:{self.port}",
                 "--delay", str(delay), "--mins", str(KITCHEN_MINS)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)
        log(f"started {name} (pid {self.proc.pid}) on port {self.port}")
        wait_until(f"{name} to answer /health",
                   lambda: self.check_alive() or http_get(self.port, "/health")[0] == 200, 30)

    def check_alive(self):
        if self.proc.poll() is not None:
            with open(self.log_path, "rb") as f:
                out = f.read()[-4000:].decode("utf-8", "replace")
            raise Failure(f"the kitchen exited with status {self.proc.returncode}:\n{out}")

    def stats(self):
        status, body = http_get(self.port, "/stats")
        if status != 200:
            raise Failure(f"the kitchen's /stats answered {status}")
        return json.loads(body)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def psql(conninfo, dbname, sql):
    q = subprocess.run(["psql", "-XAtq", "-h", conninfo["host"], "-p", conninfo["port"], "-U",
                        conninfo["user"], "-d", dbname, "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if q.returncode != 0:
        raise Failure(f"psql -d {dbname} -c {sql!r}: {q.stderr.strip()}")
    return q.stdout.splitlines()


def run_build(name, binary, args, conninfo, receiver, env, work):
    """Runs one build on its own database, kitchen and WebSocket path; returns its answers
    (stdout without the summary), its messages, and the summary's thread count."""
    dbname = f"orders_{name}"
    psql(conninfo, conninfo["dbname"], f"create database {dbname}")
    kitchen = Kitchen(f"kitchen-{name}", env, args.delay, work)
    try:
        db = (f"host={conninfo['host']} port={conninfo['port']} user={conninfo['user']} "
              f"dbname={dbname}")
        ws_path = f"/ws/{name}"
        argv = [binary, db, f"http://127.0.0.1:{kitchen.port}/orders",
                f"ws://127.0.0.1:{receiver.port}{ws_path}", str(args.orders)]
        log(f"{name}: {' '.join(argv)}")
        p = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=env)
        lines = p.stdout.splitlines()
        if p.returncode != 0:
            raise Failure(f"{name} exited with status {p.returncode}:\n{p.stdout[-3000:]}\n"
                          f"{p.stderr[-3000:]}")
        if p.stderr.strip():
            log(f"{name} stderr:\n{p.stderr[-3000:]}")
        summary = SUMMARY.match(lines[-1] if lines else "")
        if not summary:
            raise Failure(f"{name}: no summary line in its output:\n{p.stdout[-3000:]}")
        log(f"{name}: {lines[-1]}")
        answers = lines[:-1]
        want = [f'201 {{"order":{i},"mins":{KITCHEN_MINS}}}' for i in range(1, args.orders + 1)]
        if answers != want:
            raise Failure(f"{name}'s answers are not 201 {{order 1..{args.orders}, mins "
                          f"{KITCHEN_MINS}}}:\n" + "\n".join(answers[:20]))

        rows = psql(conninfo, dbname,
                    "select id, customer, status, mins, kitchen_answer->>'mins' from orders "
                    "order by id")
        by_customer = {}
        for row in rows:
            id_, customer, status, mins, answered = row.split("|")
            if status != "accepted" or mins != str(KITCHEN_MINS) or answered != mins:
                raise Failure(f"{name}: order row {row!r} is not accepted with "
                              f"{KITCHEN_MINS} minutes")
            if customer in by_customer:
                raise Failure(f"{name}: two rows for {customer}")
            by_customer[customer] = int(id_)
        customers = {f"customer-{i}" for i in range(args.orders)}
        if set(by_customer) != customers:
            raise Failure(f"{name}: {len(rows)} order rows for {len(by_customer)} customers, "
                          f"expected one for each of the {args.orders}")

        messages = wait_until(f"{name}'s {args.orders} WebSocket messages",
                              lambda: (len(receiver.received(ws_path)) >= args.orders and
                                       receiver.received(ws_path)), 30)
        got = {}
        for customer, msg in messages:
            m = MESSAGE.match(msg)
            if not m or int(m.group(2)) != KITCHEN_MINS:
                raise Failure(f"{name}: unexpected WebSocket message {msg!r} for {customer!r}")
            if customer in got:
                raise Failure(f"{name}: {customer} got two messages: {got[customer]!r}, {msg!r}")
            if by_customer.get(customer) != int(m.group(1)):
                raise Failure(f"{name}: {customer} got {msg!r}, its order is "
                              f"#{by_customer.get(customer)}")
            got[customer] = msg
        if set(got) != customers:
            raise Failure(f"{name}: messages for {len(got)} customers, expected {args.orders}")

        stats = kitchen.stats()
        log(f"{name}: kitchen /stats {stats}")
        if stats["orders"] != args.orders:
            raise Failure(f"{name}: the kitchen answered {stats['orders']} orders, expected "
                          f"{args.orders}")
        if stats["busiest"] < 2:
            raise Failure(f"{name}: the kitchen never had two orders at once: the orders did "
                          f"not overlap ({stats})")
        log(f"{name}: {args.orders} answers, rows and WebSocket messages checked")
        return answers, sorted(got.values()), int(summary.group(3))
    finally:
        kitchen.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pythonpath", required=True, help="where the built balrog package is")
    ap.add_argument("--sync", required=True, help="place_orders_sync")
    ap.add_argument("--balrog", required=True, help="place_orders_balrog")
    ap.add_argument("--orders", type=int, default=50)
    ap.add_argument("--delay", type=float, default=0.1, help="the kitchen's delay, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    args.pythonpath = os.path.abspath(args.pythonpath)
    work = tempfile.mkdtemp(prefix="balrog-food-delivery-cpp-")
    os.chmod(work, 0o755)  # the cluster runs as postgres when we are root
    pgdir = os.path.join(work, "pg")
    pg_started = False
    receiver = None
    try:
        out = subprocess.run([PG_CLUSTER, "start", pgdir], capture_output=True, text=True,
                             timeout=90)
        if out.returncode != 0:
            raise Failure(f"pg-cluster start failed:\n{out.stderr}")
        pg_started = True
        conninfo = dict(kv.split("=", 1) for kv in out.stdout.split())
        log(f"PostgreSQL: {out.stdout.strip()}")
        env = dict(os.environ, PYTHONPATH=args.pythonpath, PYTHONUNBUFFERED="1",
                   PYTHONDONTWRITEBYTECODE="1")
        for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                    "ALL_PROXY"):
            env.pop(var, None)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        receiver = Receiver()
        log(f"WebSocket receiver on 127.0.0.1:{receiver.port}")

        sync = run_build("sync", args.sync, args, conninfo, receiver, env, work)
        wrapped = run_build("balrog", args.balrog, args, conninfo, receiver, env, work)
        if sync[0] != wrapped[0]:
            raise Failure("the two builds answered differently")
        if sync[1] != wrapped[1]:
            raise Failure("the two builds sent different WebSocket messages")
        if wrapped[2] != 1:
            raise Failure(f"the balrog build ran its orders on {wrapped[2]} OS threads, "
                          "expected 1 (a fiber each)")
        log(f"PASS: both builds: {args.orders} orders saved, answered and announced alike; "
            f"sync on {sync[2]} OS threads, balrog on {wrapped[2]}")
        return 0
    except Exception as e:
        print(f"FAIL: {e}" if isinstance(e, Failure) else "FAIL:", flush=True)
        if not isinstance(e, Failure):
            traceback.print_exc()
        for name in ("kitchen-sync", "kitchen-balrog"):
            path = os.path.join(work, name + ".log")
            if os.path.exists(path):
                with open(path, "rb") as f:
                    print(f"----- {name}\n" + f.read()[-3000:].decode("utf-8", "replace"))
        return 1
    finally:
        if receiver is not None:
            receiver.stop()
        if pg_started:
            subprocess.run([PG_CLUSTER, "stop", pgdir], capture_output=True, timeout=60)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
