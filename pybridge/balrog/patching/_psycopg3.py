"""psycopg (3)'s sync API waits on the hub: its waiting functions (psycopg.waiting.wait and
wait_conn, which drive psycopg's sans-IO generators) wait for the socket in the calling
greenlet only."""

from __future__ import annotations

from typing import Any, Optional

import greenlet

from .._greenlet import GreenletExit
from .._hub import get_hub
from .._native import Waiter
from .._threads import run_in_thread
from ._registry import mark, replace


def _ready_after_wait(fileno: int, wait: Any, timeout: Optional[float] = None) -> Any:
    """Waits for what psycopg asks (Wait.R, W or RW); returns the Ready it got, or 0."""
    from psycopg.waiting import READY_R, READY_W, WAIT_R, WAIT_W

    hub = get_hub()
    if wait == WAIT_R:
        return READY_R if hub.wait_fd(fileno, False, timeout) else 0
    if wait == WAIT_W:
        return READY_W if hub.wait_fd(fileno, True, timeout) else 0
    # Both (psycopg flushing, ready to read if the server talks meanwhile): whichever first.
    got: list[Any] = []
    waiter = Waiter()

    def watch(write: bool) -> None:
        try:
            if hub.wait_fd(fileno, write):
                got.append(READY_W if write else READY_R)
                waiter.wake()
        except GreenletExit:
            pass

    watchers = [greenlet.greenlet(lambda write=write: watch(write), parent=hub.greenlet)
                for write in (False, True)]
    for w in watchers:
        hub.spawn(w)
    try:
        waiter.wait(timeout)
    finally:
        for w in watchers:
            if not w.dead:
                hub.throw(w, GreenletExit())  # the hub delivers it; we do not switch
    return got[0] if got else 0


def wait(gen: Any, fileno: int, timeout: Optional[float] = None) -> Any:
    """psycopg.waiting.wait for greenlets (``timeout`` is psycopg's Ctrl-C check: not needed,
    a wait in the hub is interruptible)."""
    try:
        s = next(gen)
        while True:
            ready = 0
            while not ready:
                ready = _ready_after_wait(fileno, s)
            s = gen.send(ready)
    except StopIteration as ex:
        return ex.args[0] if ex.args else None


def wait_conn(gen: Any, timeout: Optional[float] = None) -> Any:
    """psycopg.waiting.wait_conn for greenlets: the fd may change while connecting; a zero or
    None timeout waits forever, else ConnectionTimeout as psycopg raises it."""
    from psycopg import errors

    try:
        fileno, s = next(gen)
        while True:
            ready = _ready_after_wait(fileno, s, timeout or None)
            if not ready:
                raise errors.ConnectionTimeout("connection timeout expired")
            fileno, s = gen.send(ready)
    except StopIteration as ex:
        return ex.args[0] if ex.args else None


def _connection_wait(self: Any, gen: Any, timeout: Optional[float] = 0.1) -> Any:
    """psycopg.Connection.wait, with psycopg's own Ctrl-C handling extended to every way a
    greenlet is interrupted (kill, Timeout): the statement is cancelled on the server and its
    results are drained, so the connection stays usable."""
    from psycopg import errors, waiting

    try:
        return waiting.wait(gen, self.pgconn.socket, timeout=timeout)
    except BaseException:
        try:
            run_in_thread(self.pgconn.get_cancel().cancel)  # PQcancel blocks: not on the hub
            waiting.wait(gen, self.pgconn.socket, timeout=timeout)
        except errors.QueryCanceled:
            pass  # as expected
        except Exception:  # noqa: BLE001,S110 - the first exception is the one to raise
            pass
        raise


def patch() -> None:
    try:
        import psycopg
        from psycopg import waiting
    except ImportError:
        return
    if not mark("psycopg"):
        return
    replace(waiting, "wait", wait)
    replace(waiting, "wait_conn", wait_conn)
    replace(psycopg.Connection, "wait", _connection_wait)
