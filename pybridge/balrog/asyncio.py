"""asyncio and greenlets on one loop, both ways (SQLAlchemy's bridge, on balrog's reactor).

- :class:`EventLoop` is an asyncio event loop whose selector waits in the hub: while it has
  nothing to do, the thread's greenlets, C++ tasks and timers run, and asyncio code and
  greenlet code share the thread. :func:`run` is asyncio.run on it; :func:`install` makes it
  the loop asyncio.run / new_event_loop create.
- ``await balrog.run_sync(fn, *args)`` from a coroutine runs blocking-style ``fn`` in a greenlet
  (SQLAlchemy's greenlet_spawn) and returns its value.
- ``balrog.await_(coro)`` from greenlet code runs a coroutine to completion on a balrog event
  loop and returns its value (SQLAlchemy's await_only): inside run_sync on the loop that called
  it, anywhere else on this thread's background loop (started on first use, shared by every
  greenlet of the thread, so objects such as an asyncpg connection made through it stay
  usable). Works from the main greenlet too: a script, the REPL, pdb.
"""

from __future__ import annotations

import asyncio as _asyncio
import selectors as _selectors
from asyncio import events as _events
from typing import Any, Awaitable, Callable, Coroutine, Optional, TypeVar

from . import _hub
from ._greenlet import Greenlet, GreenletExit, getcurrent, spawn
from ._native import Waiter

__all__ = ["EventLoop", "EventLoopPolicy", "install", "run", "run_sync", "await_"]

T = TypeVar("T")

_EpollSelector: Any = _selectors.EpollSelector  # the real one, whatever patching does later


class _HubSelector(_EpollSelector):  # type: ignore[misc,valid-type]
    """An epoll selector whose waits happen in the hub."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = False

    def select(self, timeout: Optional[float] = None) -> list[Any]:
        ready: list[Any] = super().select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        # (The hub keeps asyncio's running loop per greenlet: while this greenlet sleeps, the
        # others see their own, or none.)
        self.waiting = True
        try:
            _hub.get_hub().wait_fd(self.fileno(), False, timeout)
        finally:
            self.waiting = False
        return super().select(0)  # type: ignore[no-any-return]


class EventLoop(_asyncio.SelectorEventLoop):
    """An asyncio event loop on the thread's hub (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__(_HubSelector())

    def _wake_if_selecting(self) -> None:
        # A greenlet other than the loop's scheduled work while the loop sleeps in the hub.
        if self._selector.waiting:  # type: ignore[attr-defined]
            self._write_to_self()

    def call_soon(self, callback: Callable[..., Any], *args: Any, context: Any = None) -> Any:
        handle = super().call_soon(callback, *args, context=context)
        self._wake_if_selecting()
        return handle

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,
                context: Any = None) -> Any:
        handle = super().call_at(when, callback, *args, context=context)
        self._wake_if_selecting()
        return handle


class EventLoopPolicy(_asyncio.DefaultEventLoopPolicy):
    """Makes new event loops balrog EventLoops."""

    def new_event_loop(self) -> EventLoop:
        return EventLoop()


def install() -> None:
    """asyncio.run(), asyncio.new_event_loop() and friends make balrog EventLoops from now on."""
    _asyncio.set_event_loop_policy(EventLoopPolicy())


def run(main: Coroutine[Any, Any, T], *, debug: Optional[bool] = None) -> T:
    """asyncio.run(main) on a balrog EventLoop."""
    with _asyncio.Runner(debug=debug, loop_factory=EventLoop) as runner:
        return runner.run(main)


# --- coroutine -> greenlet --------------------------------------------------------------------

async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs blocking-style ``fn(*args, **kwargs)`` in a new greenlet and awaits its result.

    The loop keeps running meanwhile. Inside ``fn``, balrog.await_ runs coroutines on this same
    loop. Cancelling the awaiting task kills the greenlet (GreenletExit at its current wait).
    Needs a balrog EventLoop (RuntimeError otherwise: another loop would never let the hub run).
    """
    loop = _asyncio.get_running_loop()
    if not isinstance(loop, EventLoop):
        raise RuntimeError("balrog.run_sync needs a balrog EventLoop (balrog.asyncio.run(), or "
                           "balrog.asyncio.install() before the loop is made)")
    future: _asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def body() -> None:
        getcurrent()._balrog_loop = loop
        try:
            value = fn(*args, **kwargs)
        except GreenletExit:
            loop.call_soon(settle, future.cancel)
        except BaseException as e:  # noqa: B036 - handed to the awaiting coroutine
            loop.call_soon(settle, lambda error=e: future.set_exception(error))
        else:
            loop.call_soon(settle, lambda: future.set_result(value))

    g = spawn(body)
    try:
        return await future
    except _asyncio.CancelledError:
        g.kill(block=False)
        raise


# --- greenlet -> coroutine --------------------------------------------------------------------

def _background_loop() -> EventLoop:
    """This thread's loop for await_ calls made outside run_sync: runs forever in a greenlet."""
    hub = _hub.get_hub()
    loop: Optional[EventLoop] = getattr(_hub._local, "background_loop", None)
    if loop is None or loop.is_closed():
        loop = EventLoop()
        _hub._local.background_loop = loop
        runner = Greenlet(loop.run_forever)
        hub.spawn(runner)
        _hub._local.background_runner = runner
    return loop


def await_(awaitable: Awaitable[T]) -> T:
    """Runs a coroutine (or any awaitable) to completion from greenlet code; returns its value
    or raises its exception. Only the calling greenlet waits. If it is interrupted (killed,
    balrog.Timeout, Ctrl-C), the task is cancelled."""
    if _events._get_running_loop() is not None:
        if _asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError("balrog.await_ called from the event loop's own greenlet (a coroutine "
                           "calling sync code directly): call that code with "
                           "`await balrog.run_sync(fn, ...)`")
    loop: Optional[EventLoop] = getattr(getcurrent(), "_balrog_loop", None)
    if loop is None or loop.is_closed():
        loop = _background_loop()
    waiter = Waiter()
    box: dict[str, Any] = {}

    def start() -> None:
        if box.get("abandoned"):
            if _asyncio.iscoroutine(awaitable):
                awaitable.close()
            return
        task = _asyncio.ensure_future(awaitable)
        box["task"] = task
        task.add_done_callback(lambda _: waiter.wake())

    loop.call_soon(start)
    try:
        waiter.wait()
    except BaseException:
        box["abandoned"] = True
        task = box.get("task")
        if task is not None and not task.done():
            loop.call_soon(task.cancel)
        raise
    return box["task"].result()  # type: ignore[no-any-return]
