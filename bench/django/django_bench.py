#!/usr/bin/python3
"""scripts/bench django: the food-delivery order view under wrk, balrog-wsgi vs gunicorn.

    django_bench.py --package build/release/pybridge [--rounds N] [--seconds S] [--quick]

The order view (examples/food-delivery, /orders) inserts a row (psycopg2 or balrog's backend),
POSTs the order to the kitchen (requests; the kitchen answers after 100 ms), updates the row and
sends a WebSocket message to the customer. Servers, one process each (one worker), all started
side by side and measured in alternating rounds (the order rotates each round):

  balrog-psycopg2   balrog-wsgi, stock django.db.backends.postgresql (psycopg2, balrog.patch())
  balrog-backend    balrog-wsgi, balrog.django.db.backends.postgresql, when the package
                    has it (skipped, saying so, otherwise)
  gevent            gunicorn -k gevent, psycopg2 patched with psycogreen (post_fork hook)
  gthread           gunicorn -k gthread --threads 32

Database: the psycopg2 servers (stock Django, CONN_MAX_AGE 0: a connection per request) go
through PgBouncer in session mode (--db direct: straight, a PostgreSQL backend fork per request,
which made the shared CPU the limit); balrog-backend connects straight (its pool keeps them).

Load: wrk -t1 -c200 --latency with orders.lua (a real CSRF token from GET /, sent as cookie and
X-CSRFToken; the customer cookie cycles through the WebSocket clients' keys). The server runs
pinned to the first CPU, everything else (wrk, PostgreSQL, PgBouncer, the kitchen, the WebSocket
clients) to the second. Measured per round: 2xx responses per second, wrk's p99 latency, and the
server's CPU time (utime + stime of its process tree, /proc/<pid>/stat) from wrk's start until
the server is quiet again, per order it inserted (the orders wrk abandoned at its end included:
every one is complete, none half done at either end). Logged too: the CPU per order of what
shares the second CPU (PostgreSQL with its exited backends, PgBouncer, the kitchen, the
WebSocket clients, wrk).

Correctness, checked every round: the rows the round inserted are between the 2xx responses
and the 2xx responses plus the requests wrk abandoned in flight when its time was up (the server
still completes those), every row is 'accepted', and for balrog-wsgi the set of (customer, order
id) the WebSocket clients received equals the accepted rows of the round. gunicorn has no
WebSocket server: there balrog.ws finds no key and send() is a no-op, so the peers do less work
per request than balrog-wsgi (a bias in their favour).

Prints one JSON object per case (the harness shape); diagnostics go to stderr. Standard library
only; the WebSocket clients are a child process (ws_clients.py, Debian's python3-websockets).
"""

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
APP = ROOT / "examples" / "food-delivery"
PYTHON = "/usr/bin/python3"
PG_BIN = "/usr/lib/postgresql/15/bin"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
KITCHEN_DELAY = 0.1
MAX_PG_CONNECTIONS = 1000

SERVERS = {
    "balrog-psycopg2": "balrog-wsgi, psycopg2 patched (django.db.backends.postgresql)",
    "balrog-backend": "balrog-wsgi, balrog.django.db.backends.postgresql",
    "gevent": "gunicorn 20.1 gevent worker + psycogreen, 1 worker",
    "gthread": "gunicorn 20.1 gthread worker, 32 threads, 1 worker",
}
BALROG_SIDES = {"balrog-psycopg2": "psycopg2 patched", "balrog-backend": "balrog backend"}
PEER_SIDES = {"gevent": "gunicorn+gevent", "gthread": "gunicorn gthread"}
METRICS = [("rps", "requests/s", "requests/s", "higher"), ("p99", "p99 latency", "ms", "lower"),
           ("cpu", "server CPU per request", "ms", "lower")]


def case_name(connections, side, metric, peer):
    return "order view, wrk -c%d, %s: %s vs %s" % (connections, side, metric, peer)


STARTED = time.monotonic()


def log(msg):
    print("django_bench: [%5.1f s] %s" % (time.monotonic() - STARTED, msg), file=sys.stderr,
          flush=True)


def median(v):
    return statistics.median(v) if v else None


def pinned(cpu, cmd):
    return cmd if cpu is None else ["taskset", "-c", str(cpu)] + cmd


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, path, seconds, proc):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def tree_cpu_seconds(pid):
    """utime + stime of pid and its descendants, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def reaped_cpu_seconds(pid):
    """tree_cpu_seconds(pid) plus the CPU of its children that exited and were waited for
    (cutime + cstime): PostgreSQL's backends, one per connection, come and go."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        reaped = int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16, 17)
    except (OSError, IndexError, ValueError):
        reaped = 0
    return tree_cpu_seconds(pid) + reaped / os.sysconf("SC_CLK_TCK")


class Postgres:
    def __init__(self, cpu):
        self.dir = tempfile.mkdtemp(prefix="balrog-bench-django-")
        out = subprocess.run(pinned(cpu, [str(ROOT / "scripts" / "pg-cluster"), "start",
                                          self.dir]),
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit("pg-cluster start failed:\n" + out.stdout + out.stderr)
        self.ci = dict(kv.split("=", 1) for kv in out.stdout.split())
        self.env = {"PGHOST": self.ci["host"], "PGPORT": self.ci["port"],
                    "PGUSER": self.ci.get("user", "postgres"),
                    "PGDATABASE": self.ci.get("dbname", "postgres")}
        # Stock Django (CONN_MAX_AGE 0) opens a connection per request: 200 in flight need 200
        # connections, more than pg-cluster's 300 leaves room for while another server's
        # pool stays open. Raise the limit and restart.
        self.query("ALTER SYSTEM SET max_connections = %d" % MAX_PG_CONNECTIONS)
        cmd = [PG_BIN + "/pg_ctl", "-D", os.path.join(self.dir, "data"), "-l",
               os.path.join(self.dir, "server.log"), "-w", "-t", "60", "restart"]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(pinned(cpu, cmd), capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise SystemExit("restarting PostgreSQL failed:\n" + r.stdout + r.stderr)
        with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
            self.pid = int(f.readline())
        self.bouncer_env, self.bouncer_pid = None, None

    def start_pgbouncer(self, cpu, pool_size):
        """PgBouncer (session mode, pool_size server connections) in front of the cluster: what
        stock Django's users put there when every request opens a connection (CONN_MAX_AGE 0).
        The environment that points libpq at it."""
        r = subprocess.run(pinned(cpu, [str(ROOT / "scripts" / "pg-cluster"), "pgbouncer",
                                        self.dir, "--mode", "session", "--pool-size",
                                        str(pool_size)]),
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise SystemExit("pg-cluster pgbouncer failed:\n" + r.stdout + r.stderr)
        ci = dict(kv.split("=", 1) for kv in r.stdout.split())
        with open(os.path.join(self.dir, "pgbouncer-session", "pgbouncer.pid")) as f:
            self.bouncer_pid = int(f.read())
        self.bouncer_env = {"PGHOST": ci["host"], "PGPORT": ci["port"]}
        return self.bouncer_env

    def query(self, sql):
        r = subprocess.run([PG_BIN + "/psql", "-X", "-At", "-F", " ", "-c", sql],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, **self.env))
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr)
        return [line.split(" ") for line in r.stdout.splitlines() if line]

    def stop(self):
        subprocess.run([str(ROOT / "scripts" / "pg-cluster"), "stop", self.dir],
                       capture_output=True, text=True, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)


class Server:
    """One server process (a master and one worker) pinned to the server CPU."""

    def __init__(self, kind, env, cpu, logdir, ws_clients, client_cpu, bouncer_env=None):
        self.kind = kind
        self.ws = None
        self.port = free_port()
        self.prefix = "%s-%s-" % (kind, secrets.token_hex(3))
        bind = "127.0.0.1:%d" % self.port
        env = dict(env)
        if bouncer_env and kind != "balrog-backend":  # psycopg2, a connection per request
            env.update(bouncer_env)
        if kind.startswith("balrog"):
            if kind == "balrog-backend":
                env["FOOD_DELIVERY_DB_ENGINE"] = "balrog.django.db.backends.postgresql"
            cmd = [PYTHON, "-m", "balrog.wsgi", "fooddelivery.wsgi:application", "--bind", bind,
                   "--workers", "1", "--ws", "/ws", "--ws-key", "customer", "--no-access-log",
                   "--chdir", str(APP)]
        else:
            cmd = [PYTHON, "-m", "gunicorn", "fooddelivery.wsgi:application", "--bind", bind,
                   "--workers", "1", "--chdir", str(APP), "--backlog", "2048",
                   "--log-level", "info"]
            if kind == "gevent":
                cmd += ["--worker-class", "gevent", "--worker-connections", "1000",
                        "--config", str(HERE / "gunicorn_gevent_conf.py")]
            else:
                cmd += ["--worker-class", "gthread", "--threads", "32"]
        self.log_path = os.path.join(logdir, kind + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(pinned(cpu, cmd), env=env, cwd=str(APP),
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if not wait_http(self.port, "/", 60, self.proc):
            self.stop()
            raise RuntimeError("%s did not start; its log:\n%s"
                               % (kind, open(self.log_path).read()[-3000:]))
        self.csrf = self.csrf_token()
        self.ws = None
        self.ws_clients = ws_clients if kind.startswith("balrog") else 0
        if self.ws_clients:
            self.ws = subprocess.Popen(
                pinned(client_cpu, [PYTHON, str(HERE / "ws_clients.py"), "--url",
                                    "ws://127.0.0.1:%d/ws" % self.port, "--prefix", self.prefix,
                                    "--clients", str(self.ws_clients)]),
                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                text=True)
            line = self.ws.stdout.readline().strip()
            if line != "ready":
                self.stop()
                raise RuntimeError("%s: the WebSocket clients did not connect (%r)"
                                   % (kind, line))

    def csrf_token(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/" % self.port, timeout=10) as r:
            for value in r.headers.get_all("Set-Cookie") or []:
                m = re.match(r"csrftoken=([^;]+)", value)
                if m:
                    return m.group(1)
        raise RuntimeError("%s: GET / set no csrftoken cookie" % self.kind)

    def ws_report(self):
        """{(key, order id)} received so far, and how many clients were disconnected."""
        if not self.ws:
            return None, 0
        self.ws.stdin.write("report\n")
        self.ws.stdin.flush()
        got = json.loads(self.ws.stdout.readline())
        closed = int(self.ws.stdout.readline().split()[1])
        return {(k, i) for k, ids in got.items() for i in ids}, closed

    def terminate(self):
        """Asks the server and its WebSocket clients to stop; stop() waits for them."""
        if self.ws and not self.ws.stdin.closed:
            try:
                self.ws.stdin.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self):
        self.terminate()
        if self.ws:
            try:
                self.ws.wait(10)
            except subprocess.TimeoutExpired:
                self.ws.kill()
                self.ws.wait()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def run_wrk(server, connections, seconds, cpu):
    nkeys = server.ws_clients or 50
    cmd = pinned(cpu, [WRK, "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                       "--timeout", "30s", "-s", str(HERE / "orders.lua"),
                       "http://127.0.0.1:%d" % server.port, "--", server.csrf, str(nkeys),
                       server.prefix])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    took = re.search(r"requests in ([\d.]+)(us|ms|s|m),", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    counts = re.search(r"^BENCH sent (\d+) ok (\d+) other (\d+)$", out, re.M)
    if not took or not counts:
        raise RuntimeError("could not read wrk's output:\n" + out)
    secs = float(took.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[took.group(2)]
    sent, ok, other = (int(x) for x in counts.groups())
    errors = re.search(r"Socket errors: (.*)", out)
    return {"seconds": secs, "sent": sent, "ok": ok, "other": other,
            "p99": float(p99.group(1)) * UNITS[p99.group(2)] if p99 else None,
            "socket_errors": errors.group(1) if errors else None}


def settle(pg, server, seconds=30.0):
    """Waits until the server is quiet: the requests wrk abandoned at the end of its time are
    finished (no row 'placed', no active database session, the row count and the server's CPU
    time unchanged over two polls)."""
    until = time.monotonic() + seconds
    last, stable = None, 0
    while time.monotonic() < until:
        total, placed, active = (int(x) for x in pg.query(
            "SELECT (SELECT count(*) FROM delivery_order), "
            "(SELECT count(*) FROM delivery_order WHERE status = 'placed'), "
            "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND coalesce(state, '') <> 'idle' AND pid <> pg_backend_pid())")[0])
        cpu = tree_cpu_seconds(server.proc.pid)
        now = (total, cpu)
        quiet = placed == 0 and active == 0 and last is not None and \
            now[0] == last[0] and now[1] - last[1] < 0.03
        stable = stable + 1 if quiet else 0
        if stable >= 2:
            return True
        last = now
        time.sleep(0.25)
    log("%s did not settle within %.0f s" % (server.kind, seconds))
    return False


def side_cpu_seconds(pg, server, kitchen):
    """CPU seconds so far of what shares the client CPU: PostgreSQL (its exited backends
    included), the kitchen, the WebSocket clients, and wrk (a waited-for child of ours)."""
    return {"postgres": reaped_cpu_seconds(pg.pid),
            "pgbouncer": tree_cpu_seconds(pg.bouncer_pid) if pg.bouncer_pid else 0.0,
            "kitchen": tree_cpu_seconds(kitchen.pid),
            "ws_clients": tree_cpu_seconds(server.ws.pid) if server.ws else 0.0,
            "wrk": sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f)
                       for f in ("ru_utime", "ru_stime"))}


def one_round(server, pg, args, server_cpu, client_cpu, kitchen):
    since = int(pg.query("SELECT coalesce(max(id), 0) FROM delivery_order")[0][0])
    side0 = side_cpu_seconds(pg, server, kitchen)
    cpu0 = tree_cpu_seconds(server.proc.pid)
    w = run_wrk(server, args.connections, args.seconds, client_cpu)
    settle(pg, server)
    # Until the server is quiet: the orders wrk abandoned are finished and counted too, so no
    # order is half done at either end (a round starts on a quiet server).
    cpu1 = tree_cpu_seconds(server.proc.pid)
    side1 = side_cpu_seconds(pg, server, kitchen)
    rows = pg.query("SELECT customer, id, status FROM delivery_order WHERE id > %d" % since)
    accepted = {(c, int(i)) for c, i, s in rows if s == "accepted"}
    check = {"rows": len(rows), "ok_2xx": w["ok"], "non_2xx": w["other"],
             "abandoned": max(0, w["sent"] - w["ok"] - w["other"]),
             "not_accepted_rows": len(rows) - len(accepted)}
    wrong = []
    if not (w["ok"] <= len(rows) <= w["ok"] + check["abandoned"]):
        wrong.append("rows %d outside [2xx %d, 2xx + abandoned %d]"
                     % (len(rows), w["ok"], w["ok"] + check["abandoned"]))
    if w["other"] or check["not_accepted_rows"]:
        wrong.append("%d non-2xx responses, %d rows not accepted"
                     % (w["other"], check["not_accepted_rows"]))
    if server.ws:
        expected = {(c, i) for c, i in accepted if c.startswith(server.prefix)}
        deadline = time.monotonic() + 5
        while True:
            got, closed = server.ws_report()
            got = {(c, i) for c, i in got if i > since}
            if got == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check.update(ws_expected=len(expected), ws_received=len(got & expected),
                     ws_missing=len(expected - got), ws_unexpected=len(got - expected),
                     ws_clients_closed=closed)
        if got != expected or closed:
            wrong.append("WebSocket: %d missing, %d unexpected, %d clients closed"
                         % (len(expected - got), len(got - expected), closed))
    side = {k: round(1e3 * (side1[k] - side0[k]) / len(rows), 3) if rows else None
            for k in side0}  # ms per order (the harness's own psql calls are in postgres)
    sample = {"rps": w["ok"] / w["seconds"], "p99": w["p99"],
              "cpu": 1e3 * (cpu1 - cpu0) / len(rows) if rows else None,
              "check": check, "wrong": wrong, "client_cpu_per_request": side}
    p99_text = "%.0f" % w["p99"] if w["p99"] else "?"
    cpu_text = "%.2f" % sample["cpu"] if sample["cpu"] else "?"
    log("%s: %.0f 2xx/s, p99 %s ms, %s ms CPU/request, rows %d, 2xx %d, abandoned %d%s%s"
        % (server.kind, sample["rps"], p99_text, cpu_text,
           len(rows), w["ok"], check["abandoned"],
           ", WebSocket %d/%d" % (check["ws_received"], check["ws_expected"])
           if server.ws else "", "; WRONG: " + "; ".join(wrong) if wrong else ""))
    log("%s: client CPU per request (ms): %s" % (server.kind, ", ".join(
        "%s %.2f" % (k, v) for k, v in side.items() if v is not None)))
    return sample


def has_balrog_backend(package):
    return (Path(package) / "balrog" / "django" / "db" / "backends" / "postgresql").is_dir()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--package", required=True, help="the folder holding the balrog package")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=int, help="seconds per wrk round (default 8, --quick 3)")
    p.add_argument("--connections", type=int, default=200)
    p.add_argument("--warm-up-connections", type=int,
                   help="wrk connections of the 1 s warm-up (default: --connections)")
    p.add_argument("--ws-clients", type=int, help="WebSocket clients (default 100, --quick 20)")
    p.add_argument("--servers", nargs="+", choices=list(SERVERS), help="only these servers")
    p.add_argument("--logdir", help="keep the servers' logs here (default: a temporary folder)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--db", choices=["pgbouncer", "direct"], default="pgbouncer",
                   help="how the psycopg2 servers (stock Django, CONN_MAX_AGE 0) reach "
                   "PostgreSQL: through PgBouncer (default) or straight, a backend fork per "
                   "request (balrog-backend always connects straight: its pool keeps them)")
    p.add_argument("--conn-max-age", help="FOOD_DELIVERY_CONN_MAX_AGE for every server")
    p.add_argument("--kitchen-delay", type=float, default=KITCHEN_DELAY,
                   help="seconds the kitchen takes per order (default %(default)s)")
    args = p.parse_args()
    if args.quick:
        args.rounds = min(args.rounds, 1)
    elif args.rounds < 5:
        raise SystemExit("at least 5 rounds (the benchmark contract)")
    args.seconds = args.seconds or (3 if args.quick else 8)
    args.ws_clients = args.ws_clients or (20 if args.quick else 100)
    package = str(Path(args.package).resolve())
    if not (Path(package) / "balrog").is_dir():
        raise SystemExit("no balrog package in " + package)
    kinds = args.servers or list(SERVERS)
    notes = []
    if "balrog-backend" in kinds and not has_balrog_backend(package):
        kinds.remove("balrog-backend")
        notes.append("balrog-backend skipped: %s has no balrog.django.db.backends.postgresql"
                     % package)
        log(notes[-1])
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    pinning = ("server CPU %s; wrk, PostgreSQL, PgBouncer, the kitchen and the WebSocket "
               "clients CPU %s"
               % (server_cpu, client_cpu)) if server_cpu is not None else "none (one CPU)"
    logdir = args.logdir or tempfile.mkdtemp(prefix="balrog-bench-django-logs-")
    os.makedirs(logdir, exist_ok=True)
    log("server logs in " + logdir)

    pg = Postgres(client_cpu)
    procs = []
    servers = {}
    try:
        env = dict(os.environ, **pg.env)
        env["PYTHONPATH"] = os.pathsep.join([package, str(APP)])
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env["DJANGO_SETTINGS_MODULE"] = "fooddelivery.settings"
        if args.conn_max_age is not None:
            env["FOOD_DELIVERY_CONN_MAX_AGE"] = args.conn_max_age
        log("PostgreSQL up; migrating")
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=str(APP),
                       env=env, check=True, timeout=120)
        kport = free_port()
        klog = open(os.path.join(logdir, "kitchen.log"), "w")
        kitchen = subprocess.Popen(pinned(client_cpu, [PYTHON, str(APP / "kitchen.py"), "--bind",
                                                       "127.0.0.1:%d" % kport, "--delay",
                                                       str(args.kitchen_delay)]),
                                   env=env, stdout=klog, stderr=subprocess.STDOUT)
        procs.append(kitchen)
        if not wait_http(kport, "/health", 30, kitchen):
            raise SystemExit("the kitchen did not start")
        env["KITCHEN_URL"] = "http://127.0.0.1:%d/orders" % kport
        bouncer_env = None
        if args.db == "pgbouncer":
            # A server connection per client connection in flight (session mode), and some.
            bouncer_env = pg.start_pgbouncer(client_cpu, args.connections + 50)
            log("PgBouncer (session mode) on %s for the psycopg2 servers" % bouncer_env["PGPORT"])
        for k in kinds:
            servers[k] = Server(k, env, server_cpu, logdir, args.ws_clients, client_cpu,
                                bouncer_env)
            log("%s listening on %d (pid %d)" % (k, servers[k].port, servers[k].proc.pid))
        for k in kinds:  # warm-up (imports, first connections), discarded
            run_wrk(servers[k], args.warm_up_connections or args.connections, 1, client_cpu)
            settle(pg, servers[k])
        log("warmed up")
        samples = {k: [] for k in kinds}
        for r in range(args.rounds):
            order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]
            for k in order:
                samples[k].append(one_round(servers[k], pg, args, server_cpu, client_cpu,
                                             kitchen))
    finally:
        for s in servers.values():
            s.terminate()
        for s in servers.values():
            s.stop()
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.stop()

    def values(k, metric):
        return [s[metric] for s in samples[k] if s[metric] is not None]

    def checks(k):
        return [dict(s["check"], wrong=s["wrong"],
                     client_cpu_per_request_ms=s["client_cpu_per_request"]) for s in samples[k]]

    for b, bside in BALROG_SIDES.items():
        if b not in samples:
            continue
        for peer, pside in PEER_SIDES.items():
            if peer not in samples:
                continue
            wrong = sum(1 for s in samples[b] + samples[peer] if s["wrong"])
            ratios = {}
            for m, _, _, _ in METRICS:
                bm, pm = median(values(b, m)), median(values(peer, m))
                ratios[m] = bm / pm if bm is not None and pm else None
            for m, mname, unit, better in METRICS:
                rec = {"case": case_name(args.connections, bside, mname, pside), "unit": unit,
                       "better": better, "balrog": median(values(b, m)),
                       "balrog_samples": values(b, m), "peer": SERVERS[peer],
                       "peer_value": median(values(peer, m)), "peer_samples": values(peer, m),
                       "rounds": args.rounds, "balrog_server": SERVERS[b],
                       "wrong_rounds": wrong, "pinning": pinning,
                       "seconds_per_round": args.seconds,
                       "kitchen_delay_ms": args.kitchen_delay * 1e3, "db": args.db}
                if m == "rps":
                    rec["cpu_per_request_ratio"] = ratios["cpu"]
                    rec["p99_ratio"] = ratios["p99"]
                    rec["balrog_checks"] = checks(b)
                    rec["peer_checks"] = checks(peer)
                    if notes:
                        rec["notes"] = notes
                print(json.dumps(rec), flush=True)
    if not any(b in samples for b in BALROG_SIDES):
        log("no balrog server measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
