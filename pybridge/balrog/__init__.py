"""balrog: write blocking-style Python, run it concurrently.

Sync code — database queries, sleeps, locks, sockets — runs in greenlets on balrog's C++
event loop, one hub per thread. See docs/python.md.

    import balrog
    from balrog import pg

    def handler(n):
        with pg.connect("dbname=app") as conn:
            return conn.execute("select %s::int * 2", (n,)).fetchone()[0]

    greenlets = [balrog.spawn(handler, n) for n in range(100)]
    print(sum(g.join() for g in greenlets))
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Coroutine, TypeVar

from ._greenlet import Greenlet, GreenletExit, getcurrent, joinall, run, sleep, spawn
from ._hub import get_hub
from . import _native
from ._native import CancelledError
from ._local import local
from ._threads import run_in_thread
from .patching import is_patched, patch, unpatch
from .queue import Empty, Full, LifoQueue, PriorityQueue, Queue, SimpleQueue
from .sync import BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore
from .timeout import Timeout

__all__ = [
    "await_",
    "BoundedSemaphore",
    "CancelledError",
    "Condition",
    "Empty",
    "Event",
    "Full",
    "Greenlet",
    "GreenletExit",
    "LifoQueue",
    "Lock",
    "PriorityQueue",
    "Queue",
    "RLock",
    "Semaphore",
    "SimpleQueue",
    "Timeout",
    "get_hub",
    "getcurrent",
    "is_patched",
    "joinall",
    "local",
    "patch",
    "run",
    "run_in_thread",
    "run_sync",
    "sleep",
    "spawn",
    "unpatch",
]

__version__ = "0.1.0"

T = TypeVar("T")

def await_(awaitable: "Awaitable[T]") -> "T":
    """Runs a coroutine from greenlet code and returns its value: see balrog.asyncio.await_."""
    from .asyncio import await_ as run_awaitable

    return run_awaitable(awaitable)


def run_sync(fn: "Callable[..., T]", *args: Any, **kwargs: Any) -> "Coroutine[Any, Any, T]":
    """``await balrog.run_sync(fn, ...)`` runs blocking-style fn in a greenlet from a coroutine:
    see balrog.asyncio.run_sync."""
    from .asyncio import run_sync as run_in_greenlet

    return run_in_greenlet(fn, *args, **kwargs)


# While a terminal prompt (the REPL, pdb, input()) waits for a line, this thread's hub runs.
_native.install_input_hook()


def load_ipython_extension(ip: object) -> None:
    """``%load_ext balrog`` in IPython: see balrog.ipython."""
    from .ipython import load_ipython_extension as load

    load(ip)


def unload_ipython_extension(ip: object) -> None:
    from .ipython import unload_ipython_extension as unload

    unload(ip)
