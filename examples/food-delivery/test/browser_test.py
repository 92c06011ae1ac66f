#!/usr/bin/python3
"""End-to-end browser test of the food-delivery example (ctest: food_delivery_browser).

Starts a throwaway PostgreSQL cluster (scripts/pg-cluster), runs the migrations, starts the
kitchen (kitchen.py, on balrog's HTTP server) and the Django project under balrog-wsgi
(balrog.patch(), Django's own psycopg2 backend unless FOOD_DELIVERY_DB_ENGINE says otherwise,
the balrog.ws endpoint at /ws) on free loopback ports, then headless Chromium, driven over the
DevTools protocol with Python's websockets package: it opens the page, waits for its WebSocket,
places an order, and waits for "Order #N will be delivered in M minutes." in the page. It
checks the order's row, and saves a screenshot (on failure too, when the browser is up) in
--artifacts. Every wait is bounded; every child process group is killed at exit.

    browser_test.py --pythonpath BUILD/pybridge --artifacts BUILD/artifacts
"""

import argparse
import asyncio
import base64
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.dirname(HERE)
SOURCE_DIR = os.path.dirname(os.path.dirname(EXAMPLE))
PG_CLUSTER = os.path.join(SOURCE_DIR, "scripts", "pg-cluster")
PYTHON = "/usr/bin/python3"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

MESSAGE = re.compile(r"^Order #(\d+) will be delivered in (\d+) minutes\.$")
KITCHEN_MINS = 25
KITCHEN_DELAY = 0.2


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


class Children:
    """The processes this test started, each in its own process group (Chromium's helpers
    too), all killed at exit; their output goes to files shown on failure."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []  # (name, Popen, log path)

    def start(self, name, argv, **kw):
        path = os.path.join(self.workdir, name + ".log")
        out = open(path, "wb")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, **kw)
        out.close()
        self.procs.append((name, p, path))
        log(f"started {name} (pid {p.pid}): {' '.join(argv)}")
        return p

    def check_alive(self, name):
        for n, p, path in self.procs:
            if n == name and p.poll() is not None:
                raise Failure(f"{name} exited with status {p.returncode}:\n{self.output(path)}")

    @staticmethod
    def output(path, tail=4000):
        try:
            with open(path, "rb") as f:
                return f.read()[-tail:].decode("utf-8", "replace")
        except OSError:
            return ""

    def dump(self):
        for name, p, path in self.procs:
            print(f"----- {name} (pid {p.pid}, {'running' if p.poll() is None else p.returncode})"
                  f" {path}\n{self.output(path)}", flush=True)

    def stop_all(self):
        for name, p, _ in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for name, p, _ in reversed(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} ignored SIGTERM: SIGKILL")
            try:
                os.killpg(p.pid, signal.SIGKILL)  # the group's leftovers (Chromium's helpers)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {p.pid}) did not die")


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


class DevTools:
    """A minimal Chrome DevTools protocol client over one browser WebSocket, in flat session
    mode: commands to the page carry its sessionId."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending = {}
        self.events = asyncio.Queue()
        self.console = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg:
                fut = self.pending.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
                continue
            method = msg.get("method", "")
            params = msg.get("params", {})
            if method == "Runtime.consoleAPICalled":
                self.console.append(" ".join(str(a.get("value", a.get("description", "")))
                                             for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                self.console.append("exception: " + json.dumps(params.get("exceptionDetails", {}))
                                    [:500])
            elif method == "Log.entryAdded":
                e = params.get("entry", {})
                self.console.append(f"{e.get('level')}: {e.get('text')} {e.get('url', '')}")
            await self.events.put(msg)

    async def call(self, method, params=None, session=None, timeout=15):
        i = next(self.ids)
        msg = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[i] = fut
        await self.ws.send(json.dumps(msg))
        try:
            reply = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise Failure(f"DevTools: no answer to {method} within {timeout} s") from None
        if "error" in reply:
            raise Failure(f"DevTools: {method} failed: {reply['error']}")
        return reply.get("result", {})

    async def wait_event(self, method, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"DevTools: no {method} event within {timeout} s")
            try:
                msg = await asyncio.wait_for(self.events.get(), left)
            except asyncio.TimeoutError:
                continue
            if msg.get("method") == method:
                return msg

    async def evaluate(self, session, expression, timeout=10):
        r = await self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                 "awaitPromise": True}, session, timeout)
        if "exceptionDetails" in r:
            raise Failure(f"page script failed: {expression}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    async def poll(self, session, what, expression, timeout, interval=0.1):
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = await self.evaluate(session, expression)
            if value:
                return value
            await asyncio.sleep(interval)
        raise Failure(f"timed out after {timeout} s waiting for {what} in the page "
                      f"(last value {value!r})")


def browser_endpoint(profile, chromium, children, timeout=30):
    """Chromium writes its DevTools port and browser path to DevToolsActivePort."""
    path = os.path.join(profile, "DevToolsActivePort")

    def read():
        children.check_alive("chromium")
        with open(path) as f:
            lines = f.read().split("\n")
        if len(lines) >= 2 and lines[0].strip().isdigit() and lines[1].startswith("/devtools"):
            return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        return None

    return wait_until(f"Chromium's DevTools endpoint ({path})", read, timeout)


async def drive_browser(url, page_url, artifacts, state):
    import websockets

    async with websockets.connect(url, max_size=None, open_timeout=15,
                                  close_timeout=5, ping_interval=None) as ws:
        cdp = DevTools(ws)
        state["cdp"] = cdp
        target = await cdp.call("Target.createTarget", {"url": "about:blank"})
        attached = await cdp.call("Target.attachToTarget",
                                  {"targetId": target["targetId"], "flatten": True})
        session = attached["sessionId"]
        state["session"] = session
        for domain in ("Page", "Runtime", "Log"):
            await cdp.call(f"{domain}.enable", session=session)
        await cdp.call("Emulation.setDeviceMetricsOverride",
                       {"width": 900, "height": 700, "deviceScaleFactor": 1, "mobile": False},
                       session)
        log(f"opening {page_url}")
        nav = await cdp.call("Page.navigate", {"url": page_url}, session)
        if nav.get("errorText"):
            raise Failure(f"navigation to {page_url} failed: {nav['errorText']}")
        await cdp.wait_event("Page.loadEventFired", 20)
        await cdp.poll(session, "the WebSocket to open (#status 'connected')",
                       "(document.getElementById('status') || {}).textContent === 'connected'", 20)
        customer = await cdp.evaluate(
            session, "(document.cookie.match(/(?:^|; )customer=([^;]*)/) || [])[1] || ''")
        if not customer:
            raise Failure("the page has no customer cookie")
        state["customer"] = customer
        log(f"page connected (customer {customer}); placing an order")
        await cdp.evaluate(session, "document.getElementById('dish').value = 'Pad thai';"
                                    "document.getElementById('quantity').value = '2';"
                                    "document.getElementById('place-order').click(); true")
        text = await cdp.poll(
            session, "the WebSocket message 'Order #N will be delivered in M minutes.'",
            "(() => { const li = document.querySelector('#messages li');"
            " return li ? li.textContent : ''; })()", 20)
        state["message"] = text
        answer = await cdp.poll(
            session, "the order's answer (#answer 'Order #N placed.')",
            "(() => { const t = (document.getElementById('answer') || {}).textContent || '';"
            " return /placed\\.|failed/.test(t) ? t : ''; })()", 20)
        state["answer"] = answer
        await screenshot(cdp, session, artifacts, "food-delivery.png")


async def screenshot(cdp, session, artifacts, name):
    shot = await cdp.call("Page.captureScreenshot", {"format": "png"}, session, timeout=20)
    path = os.path.join(artifacts, name)
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    log(f"screenshot: {path}")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pythonpath", required=True, help="where the built balrog package is")
    ap.add_argument("--artifacts", required=True, help="directory for the screenshot and logs")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    args.pythonpath = os.path.abspath(args.pythonpath)  # the children run in the example's dir
    args.artifacts = os.path.abspath(args.artifacts)
    for exe in (CHROMIUM, PG_CLUSTER):
        if not os.access(exe, os.X_OK):
            print(f"FAIL: {exe} is missing (scripts/bootstrap installs it)", flush=True)
            return 1
    os.makedirs(args.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="balrog-food-delivery-")
    os.chmod(work, 0o755)  # the cluster runs as postgres when we are root
    children = Children(work)
    pgdir = os.path.join(work, "pg")
    pg_started = False
    state = {}
    started = time.monotonic()
    try:
        out = subprocess.run([PG_CLUSTER, "start", pgdir], capture_output=True, text=True,
                             timeout=90)
        if out.returncode != 0:
            raise Failure(f"pg-cluster start failed:\n{out.stderr}")
        pg_started = True
        conninfo = dict(kv.split("=", 1) for kv in out.stdout.split())
        log(f"PostgreSQL: {out.stdout.strip()}")
        log("database backend: " + os.environ.get("FOOD_DELIVERY_DB_ENGINE",
                                                  "django.db.backends.postgresql"))
        env = dict(os.environ, PYTHONPATH=args.pythonpath, PYTHONUNBUFFERED="1",
                   PYTHONDONTWRITEBYTECODE="1", PGHOST=conninfo["host"],
                   PGPORT=conninfo["port"], PGUSER=conninfo["user"],
                   PGDATABASE=conninfo["dbname"])
        env.pop("http_proxy", None)
        env.pop("HTTP_PROXY", None)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"

        m = subprocess.run([PYTHON, "manage.py", "migrate", "--noinput"], cwd=EXAMPLE, env=env,
                           capture_output=True, text=True, timeout=120)
        if m.returncode != 0:
            raise Failure(f"manage.py migrate failed:\n{m.stdout}\n{m.stderr}")
        log("migrations applied")

        kitchen_port = free_port()
        children.start("kitchen", [PYTHON, os.path.join(EXAMPLE, "kitchen.py"), "--bind",
                                   f"127.0.0.1:{kitchen_port}", "--delay", str(KITCHEN_DELAY),
                                   "--mins", str(KITCHEN_MINS)], env=env)
        wait_until("the kitchen to answer /health",
                   lambda: children.check_alive("kitchen") or
                   http_get(kitchen_port, "/health")[0] == 200, 30)

        web_port = free_port()
        env["KITCHEN_URL"] = f"http://127.0.0.1:{kitchen_port}/orders"
        children.start("balrog-wsgi", [PYTHON, "-m", "balrog.wsgi", "fooddelivery.wsgi:application",
                                       "--bind", f"127.0.0.1:{web_port}", "--workers", "1",
                                       "--ws", "/ws", "--ws-key", "customer",
                                       "--graceful-timeout", "3"],
                       cwd=EXAMPLE, env=env)
        wait_until("balrog-wsgi to serve the page",
                   lambda: children.check_alive("balrog-wsgi") or
                   http_get(web_port, "/")[0] == 200, 30)
        log(f"balrog-wsgi serving on 127.0.0.1:{web_port}")

        profile = os.path.join(work, "chromium-profile")
        os.makedirs(profile)
        argv = [CHROMIUM, "--headless=new", "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
                "--no-proxy-server", "--mute-audio", "--window-size=900,700", "about:blank"]
        if os.geteuid() == 0:
            # Chromium refuses to start its sandbox as root (it needs an unprivileged user for
            # the namespace sandbox). The test only loads its own page from loopback.
            argv.insert(1, "--no-sandbox")
        children.start("chromium", argv, env=dict(env, HOME=work))
        endpoint = browser_endpoint(profile, CHROMIUM, children)
        log(f"Chromium DevTools: {endpoint}")

        page_url = f"http://127.0.0.1:{web_port}/"
        try:
            asyncio.run(asyncio.wait_for(drive_browser(endpoint, page_url, args.artifacts, state),
                                         90))
        except asyncio.TimeoutError:
            raise Failure("the browser session took more than 90 s") from None

        message = state.get("message", "")
        got = MESSAGE.match(message)
        if not got:
            raise Failure(f"unexpected WebSocket message in the page: {message!r}")
        order_id, mins = int(got.group(1)), int(got.group(2))
        if mins != KITCHEN_MINS:
            raise Failure(f"the message says {mins} minutes, the kitchen said {KITCHEN_MINS}")
        if state.get("answer") != f"Order #{order_id} placed.":
            raise Failure(f"the order's answer in the page: {state.get('answer')!r}")
        q = subprocess.run(
            ["psql", "-XAtq", "-h", conninfo["host"], "-p", conninfo["port"], "-U",
             conninfo["user"], "-d", conninfo["dbname"], "-c",
             f"select customer, dish, quantity, status, mins from delivery_order "
             f"where id = {order_id}"], capture_output=True, text=True, timeout=30)
        row = q.stdout.strip()
        want = f"{state['customer']}|Pad thai|2|accepted|{KITCHEN_MINS}"
        if row != want:
            raise Failure(f"order {order_id}'s row is {row!r} ({q.stderr.strip()}), "
                          f"expected {want!r}")
        log(f"PASS: the page shows {message!r} (order row {row}), in "
            f"{time.monotonic() - started:.1f} s")
        return 0
    except Exception as e:
        print(f"FAIL: {e}" if isinstance(e, Failure) else "FAIL:", flush=True)
        if not isinstance(e, Failure):
            traceback.print_exc()
        cdp, session = state.get("cdp"), state.get("session")
        if cdp is not None:
            print("browser console:\n  " + "\n  ".join(cdp.console or ["(nothing)"]))
        if session is not None and children.procs and children.procs[-1][1].poll() is None:
            try:
                asyncio.run(asyncio.wait_for(
                    _failure_screenshot(children, args.artifacts), 30))
            except Exception as e2:
                print(f"(no failure screenshot: {e2!r})")
        children.dump()
        return 1
    finally:
        children.stop_all()
        for name, _, path in children.procs:
            shutil.copy(path, os.path.join(args.artifacts, name + ".log"))
        if pg_started:
            subprocess.run([PG_CLUSTER, "stop", pgdir], capture_output=True, timeout=60)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


async def _failure_screenshot(children, artifacts):
    """A new DevTools connection to whatever page is open, to see what went wrong."""
    import websockets

    profile = [p for n, p, _ in children.procs if n == "chromium"]
    if not profile:
        return
    path = None
    for arg in children.procs[-1][1].args:
        if arg.startswith("--user-data-dir="):
            path = arg.split("=", 1)[1]
    with open(os.path.join(path, "DevToolsActivePort")) as f:
        port, browser = f.read().split("\n")[:2]
    async with websockets.connect(f"ws://127.0.0.1:{port}{browser}", max_size=None,
                                  open_timeout=10, close_timeout=2, ping_interval=None) as ws:
        cdp = DevTools(ws)
        targets = await cdp.call("Target.getTargets")
        pages = [t for t in targets["targetInfos"] if t["type"] == "page"
                 and t["url"].startswith("http")]
        if not pages:
            return
        attached = await cdp.call("Target.attachToTarget",
                                  {"targetId": pages[-1]["targetId"], "flatten": True})
        await screenshot(cdp, attached["sessionId"], artifacts, "food-delivery-failure.png")


if __name__ == "__main__":
    sys.exit(main())
