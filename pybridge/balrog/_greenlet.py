"""Greenlets on the hub: spawn, join, kill, run."""

from __future__ import annotations

import atexit
import sys
import traceback
from typing import Any, Callable, Generic, Optional, TypeVar

import greenlet as _greenlet_module

from . import _hub
from ._native import Waiter

__all__ = ["Greenlet", "GreenletExit", "spawn", "run", "getcurrent", "sleep", "joinall"]

T = TypeVar("T")

GreenletExit = _greenlet_module.GreenletExit
getcurrent = _greenlet_module.getcurrent

_NOT_YET = object()

# Where balrog.patch() keeps a greenlet's Thread object (patching/_threading.py): a greenlet
# that has one took a thread identity, and its "thread" ends with it.
_THREAD_ATTR = "_balrog_thread"

# Run in a Greenlet that took a thread identity, when its function has returned or raised
# (before join() returns): what a thread's end would release, such as Django's connections of
# that thread. balrog.patch() (threading) adds them. An exception is printed, not raised.
thread_end_hooks: list[Callable[[], None]] = []


def _end_thread() -> None:
    for hook in list(thread_end_hooks):
        try:
            hook()
        except Exception:
            print("balrog: a greenlet's thread-end hook failed:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)


class Greenlet(_greenlet_module.greenlet, Generic[T]):
    """A greenlet started by :func:`spawn`: runs ``fn(*args, **kwargs)`` on this thread's hub.

    It starts at the hub's next round (spawning never switches). Its outcome is kept:
    :meth:`join` waits for it and returns the value or raises the exception; :attr:`value` and
    :attr:`exception` read it without waiting. :meth:`kill` raises an exception (by default
    :class:`GreenletExit`) in it at its current or next wait; a greenlet that ends with
    GreenletExit counts as killed, not failed (its value is None).

    An exception nobody looked at (by join(), .exception or .value) is reported on stderr
    when the Greenlet object is collected, so it is never lost silently. KeyboardInterrupt
    and SystemExit escaping a greenlet are raised in the main greenlet instead, as they would
    be without greenlets.
    """

    def __init__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        hub = _hub.get_hub()
        super().__init__(parent=hub.greenlet)
        self._fn = fn
        self._name = getattr(fn, "__qualname__", None) or repr(fn)
        self._args = args
        self._kwargs = kwargs
        self._value: Any = _NOT_YET
        self._exception: Optional[BaseException] = None
        self._observed = False
        self._unobserved: Optional[_Unobserved] = None  # a failure nobody looked at
        self._killed_before_start: Optional[BaseException] = None
        self._joiners: list[Waiter] = []
        self._hub = hub
        self._thrown = False  # kill() sent a throw the hub may still hold

    # --- running ---------------------------------------------------------------------------
    def run(self) -> None:  # called by greenlet, in this greenlet
        try:
            try:
                if self._killed_before_start is not None:
                    raise self._killed_before_start
                value = self._fn(*self._args, **self._kwargs)
            finally:
                if thread_end_hooks and _THREAD_ATTR in self.__dict__:
                    _end_thread()
        except GreenletExit:
            self._value = None
        except (KeyboardInterrupt, SystemExit) as e:
            self._value = None
            self._exception = e
            self._observed = True  # re-raised in the main greenlet: not lost
            self._finish()
            self._hub.throw(self._hub.main, e)
            return
        except BaseException as e:  # noqa: B036 - kept for join()
            self._exception = e
            self._value = None
            if not self._observed:
                self._unobserved = _Unobserved(self._name, id(self), e)
        else:
            self._value = value
        self._finish()

    def _finish(self) -> None:
        self._fn = self._args = self._kwargs = None  # type: ignore[assignment]
        if self._thrown:
            self._hub.cancel_throw(self)  # a kill that came too late
        joiners, self._joiners = self._joiners, []
        for w in joiners:
            w.wake()

    # --- observing -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """True once the function has returned or raised (or it was killed)."""
        return self._value is not _NOT_YET

    @property
    def value(self) -> Optional[T]:
        """The return value, None until it is ready or when it raised."""
        self._observe()
        return None if self._value is _NOT_YET else self._value

    @property
    def exception(self) -> Optional[BaseException]:
        """The exception it ended with (None if it returned, was killed, or is running)."""
        self._observe()
        return self._exception

    def join(self, timeout: Optional[float] = None) -> Optional[T]:
        """Waits until it is ready; returns its value or raises its exception.

        With ``timeout`` (seconds), raises TimeoutError if it is not ready by then (it keeps
        running). A killed greenlet joins as None.
        """
        if not self.ready:
            if self is getcurrent():
                raise RuntimeError("balrog: a greenlet cannot join itself")
            w = Waiter()
            self._joiners.append(w)
            try:
                # Ready meanwhile (a greenlet of another thread finishing): no wait.
                if not self.ready and not w.wait(timeout):
                    raise TimeoutError(f"balrog: {self!r} did not finish within {timeout} s")
            finally:
                if w in self._joiners:
                    self._joiners.remove(w)
        self._observe()
        if self._exception is not None:
            raise self._exception
        return self._value

    def kill(self, exception: BaseException | type[BaseException] = GreenletExit,
             block: bool = True, timeout: Optional[float] = None) -> None:
        """Raises ``exception`` in the greenlet at its current wait (or its next one).

        A greenlet not started yet never runs its function. With ``block`` (the default) waits
        until it has ended (up to ``timeout`` seconds; then TimeoutError). Killing a greenlet
        that is ready does nothing.
        """
        if self.ready:
            return
        exc = exception() if isinstance(exception, type) else exception
        if not bool(self):  # not started: greenlet is false until it runs
            self._killed_before_start = exc
        else:
            self._thrown = True
            self._hub.throw(self, exc)
        if block and self is not getcurrent():
            try:
                self.join(timeout)
            except BaseException as e:  # the greenlet's own exception is not ours to raise
                if isinstance(e, TimeoutError) and not self.ready:
                    raise

    def __repr__(self) -> str:
        state = "ready" if self.ready else ("running" if bool(self) else "not started")
        return f"<balrog.Greenlet {self._name} {state} at {id(self):#x}>"

    def _observe(self) -> None:
        self._observed = True
        unobserved = self._unobserved
        if unobserved is not None:
            unobserved.observed = True


class _Unobserved:
    """A greenlet's failure nobody has looked at yet, reported when the greenlet goes (with
    it): only failed greenlets carry one, so the others need no finalizer."""

    __slots__ = ("name", "ident", "exception", "observed")

    def __init__(self, name: str, ident: int, exception: BaseException) -> None:
        self.name = name
        self.ident = ident
        self.exception = exception
        self.observed = False

    def __del__(self) -> None:
        if not self.observed:
            # Printed later, by the hub: __del__ may run inside the garbage collector, in the
            # middle of anything (even ast.parse, which traceback printing would re-enter).
            _report_later(f"balrog: greenlet <balrog.Greenlet {self.name} ready at "
                          f"{self.ident:#x}> ended with an exception nobody joined:",
                          self.exception)


_pending_reports: list[tuple[str, BaseException]] = []


def _report_later(headline: str, exc: BaseException) -> None:
    first = not _pending_reports
    _pending_reports.append((headline, exc))
    if first:
        hub = _hub.get_hub_if_any()
        if hub is not None:
            hub.spawn(_greenlet_module.greenlet(flush_reports, parent=hub.greenlet))


def flush_reports() -> None:
    """Prints the reports of unobserved greenlet failures collected so far."""
    while _pending_reports:
        headline, e = _pending_reports.pop(0)
        print(headline, file=sys.stderr)
        traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)


atexit.register(flush_reports)


def spawn(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Greenlet[T]:
    """Starts ``fn(*args, **kwargs)`` in a new greenlet on this thread's hub; see Greenlet."""
    g: Greenlet[T] = Greenlet(fn, *args, **kwargs)
    g._hub.spawn(g)
    return g


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs ``fn(*args, **kwargs)`` in a greenlet and returns its value (or raises).

    Greenlets it spawns run concurrently with it; those still running when it returns keep
    their state and progress whenever this thread next waits in balrog.
    """
    return spawn(fn, *args, **kwargs).join()  # type: ignore[return-value]


def sleep(seconds: float = 0) -> None:
    """Suspends the calling greenlet for ``seconds``; others run meanwhile.

    ``sleep(0)`` lets every other ready greenlet run (and the loop take a turn) first.
    """
    _hub.get_hub().sleep(seconds)


def joinall(greenlets: list[Greenlet[Any]], timeout: Optional[float] = None) -> list[Greenlet[Any]]:
    """Waits until every greenlet of the list is ready, or ``timeout`` seconds passed.

    Returns the greenlets that are ready. Their exceptions are not raised (read them from
    ``.exception``).
    """
    from .timeout import Timeout

    deadline = Timeout(timeout)
    try:
        with deadline:
            for g in greenlets:
                if not g.ready:
                    w = Waiter()
                    g._joiners.append(w)
                    try:
                        if not g.ready:
                            w.wait()
                    finally:
                        if w in g._joiners:
                            g._joiners.remove(w)
    except Timeout as t:
        if t is not deadline:
            raise
    return [g for g in greenlets if g.ready]
