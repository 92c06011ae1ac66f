"""balrog-wsgi: serve a WSGI application with worker processes, like gunicorn.

    balrog-wsgi project.wsgi:application --bind 127.0.0.1:8000 --workers 4

The command calls balrog.patch() first. The master process forks the workers; each imports
the application and serves it on the same address (SO_REUSEPORT: the kernel spreads the
connections), with a greenlet per request. A worker that dies is restarted. SIGTERM or SIGINT
to the master stops gracefully: the workers stop accepting, finish the requests in flight
(within --graceful-timeout), and the master exits 0 once they are gone. A worker that cannot
import the application exits with status 3, and the master then stops everything (exit 1).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib
import os
import signal
import sys
import time
import traceback
from typing import Any, Dict, List, Optional

BOOT_FAILED = 3
# The workers' first GC threshold (gc.set_threshold's threshold0; Python's is 700). A request
# allocates thousands of objects and hundreds run at once, so at 700 a full collection (every
# 100 young ones) came every few hundred requests, rescanning all the requests in flight; on
# the food-delivery bench (docs/benchmarks.md, area django) 10,000 took the collector from
# about 8.5 % of the worker's CPU to about 5 %. The older generations keep Python's thresholds.
GC_THRESHOLD = 10_000


def load_app(spec: str) -> Any:
    """'package.module:attr' (attr defaults to 'application') -> the object."""
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in (attr or "application").split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    return obj


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="balrog-wsgi", description=__doc__.split("\n\n")[0])
    p.add_argument("app", help="the WSGI application, as module:attribute")
    p.add_argument("--bind", "-b", default="127.0.0.1:8000",
                   help="host:port (or [v6]:port) to listen on (default %(default)s)")
    p.add_argument("--workers", "-w", type=int, default=1,
                   help="worker processes (default %(default)s)")
    p.add_argument("--access-log", default="-",
                   help="file for the access log (Common Log Format); '-' is stdout "
                        "(default)")
    p.add_argument("--no-access-log", action="store_true", help="no access log")
    p.add_argument("--graceful-timeout", type=float, default=30.0,
                   help="seconds requests in flight may take at shutdown (default 30)")
    p.add_argument("--max-body", type=int, default=1 << 20,
                   help="largest request body in bytes: 413 beyond (default 1 MiB)")
    p.add_argument("--header-timeout", type=float, default=10.0,
                   help="seconds to receive a request's header: 408 after (default 10)")
    p.add_argument("--body-timeout", type=float, default=30.0,
                   help="seconds to receive a request's body: 408 after (default 30)")
    p.add_argument("--keep-alive", type=float, default=60.0,
                   help="seconds a kept-alive connection may idle (default 60)")
    p.add_argument("--write-timeout", type=float, default=30.0,
                   help="seconds a response write may make no progress (default 30)")
    p.add_argument("--max-connections", type=int, default=10_000,
                   help="open connections per worker (default 10000)")
    p.add_argument("--backlog", type=int, default=1024, help="listen backlog (default 1024)")
    p.add_argument("--ws", metavar="PATH", dest="ws_path",
                   help="serve WebSocket clients at PATH (e.g. /ws) for balrog.ws: views send "
                        "to them with get_ws_connection(request).send(...)")
    p.add_argument("--ws-key", default="balrog_ws",
                   help="the cookie (else query parameter) naming a WebSocket client "
                        "(default %(default)s)")
    p.add_argument("--gc-threshold", type=int, default=GC_THRESHOLD, metavar="N",
                   help="the garbage collector's first threshold in the workers (Python's "
                        "default is 700; 0 turns automatic collection off; default "
                        "%(default)s)")
    p.add_argument("--chdir", help="change to this directory before loading the app")
    p.add_argument("--pythonpath", action="append", default=[],
                   help="a directory to add to sys.path (repeatable)")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error("--workers must be at least 1")
    return args


def _log(message: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC] [{os.getpid()}] {message}",
          file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    # A worker whose master was killed outright gets SIGTERM (Linux's PR_SET_PDEATHSIG).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def run_worker(args: argparse.Namespace, log_fd: int) -> int:
    """A worker process: imports the app, serves it until SIGTERM/SIGINT. Returns the exit
    status."""
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(s, signal.SIG_DFL)
    _die_with_parent()
    try:
        app = load_app(args.app)
    except BaseException:
        traceback.print_exc()
        _log(f"worker failed to load {args.app}")
        return BOOT_FAILED
    from . import serve

    # What the import made (modules, the application's settings and URL patterns: most of the
    # process's objects) lives as long as the worker: out of the collector's sight, a full
    # collection scans only the objects made since (requests in flight), as gunicorn users do
    # with gc.freeze() in a post-fork hook. Measured on the food-delivery bench: the full
    # collections took about 6.5 % of the worker's CPU without it, 3.5 % with it.
    gc.collect()
    gc.freeze()
    _, threshold1, threshold2 = gc.get_threshold()
    gc.set_threshold(args.gc_threshold, threshold1, threshold2)

    def listening(server: Any) -> None:
        _log(f"worker serving {args.app} on {args.bind}")

    serve(app, args.bind, on_listening=listening, reuse_port=True,
          multiprocess=args.workers > 1, access_log=log_fd if log_fd >= 0 else None,
          shutdown_grace=args.graceful_timeout, max_body_bytes=args.max_body,
          header_timeout=args.header_timeout, body_timeout=args.body_timeout,
          idle_timeout=args.keep_alive, write_timeout=args.write_timeout,
          max_connections=args.max_connections, backlog=args.backlog,
          websocket_path=args.ws_path, websocket_key=args.ws_key)
    _log("worker stopped")
    return 0


class Master:
    """Forks the workers, restarts the ones that die, stops them all on SIGTERM/SIGINT."""

    def __init__(self, args: argparse.Namespace, log_fd: int) -> None:
        self.args = args
        self.log_fd = log_fd
        self.workers: Dict[int, int] = {}  # pid -> slot
        self.stopping = False
        self.failed = False

    def spawn(self, slot: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                status = run_worker(self.args, self.log_fd)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        self.workers[pid] = slot

    def stop(self, signum: int, frame: Any) -> None:
        if not self.stopping:
            _log(f"{signal.Signals(signum).name}: stopping the workers gracefully")
        self.stopping = True
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        _log(f"master: {self.args.workers} worker(s) for {self.args.app} on {self.args.bind}")
        for slot in range(self.args.workers):
            self.spawn(slot)
        while self.workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid not in self.workers:
                continue
            slot = self.workers.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                continue
            if code == BOOT_FAILED:
                _log(f"worker {pid} could not load the application: stopping")
                self.failed = True
                self.stop(signal.SIGTERM, None)
                continue
            _log(f"worker {pid} exited ({code}): restarting it")
            self.spawn(slot)
        _log("master: stopped")
        return 1 if self.failed else 0


def main(argv: Optional[List[str]] = None) -> int:
    import balrog

    balrog.patch()  # first, before the application makes its locks and connections
    args = parse_args(argv)
    if args.chdir:
        os.chdir(args.chdir)
    for path in reversed(args.pythonpath):
        sys.path.insert(0, path)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    log_fd = -1
    if not args.no_access_log:
        if args.access_log == "-":
            log_fd = sys.stdout.fileno()
        else:
            log_fd = os.open(args.access_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    return Master(args, log_fd).run()
