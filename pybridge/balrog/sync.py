"""Locks, events, semaphores and conditions for greenlets (and threads).

They suspend only the calling greenlet: other greenlets of the thread keep running. They are
also correct between threads (each thread waits in its own hub; a wake from another thread
reaches the waiter's hub), which is what lets :func:`balrog.patch` put them under the
``threading`` module. Their API and errors are the ``threading`` module's.

No hand-off: a release or a set wakes a waiter, which then tries again. So a greenlet that is
interrupted (killed, timed out) after being woken never takes the lock with it, and the wake it
did not use is passed on.
"""

from __future__ import annotations

import _thread
from collections import deque
from types import TracebackType
from typing import Any, Callable, Optional, TypeVar

from ._greenlet import getcurrent
from ._native import Waiter
from ._time import monotonic

__all__ = ["Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event"]

T = TypeVar("T")

# The real lock, captured before balrog.patch() can replace _thread.allocate_lock: it guards
# the primitives' own state for a few instructions, never across a wait.
_real_lock = _thread.allocate_lock


def _check_timeout(blocking: bool, timeout: float) -> Optional[float]:
    """threading's rules for (blocking, timeout) -> seconds to wait, None: forever."""
    if not blocking:
        if timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        return 0.0
    if timeout < 0:
        if timeout != -1:
            raise ValueError("timeout value must be positive")
        return None
    return timeout


class _Waiters:
    """A FIFO of Waiters guarded by a real lock."""

    __slots__ = ("guard", "queue")

    def __init__(self) -> None:
        self.guard = _real_lock()
        self.queue: deque[Waiter] = deque()

    def wake_one(self) -> None:  # with guard held
        while self.queue:
            if self.queue.popleft().wake():
                return

    def wake_all(self) -> None:  # with guard held
        while self.queue:
            self.queue.popleft().wake()

    def leave(self, w: Waiter) -> None:
        """After a wait ended: drop `w` (it may have been popped by a wake already)."""
        with self.guard:
            try:
                self.queue.remove(w)
            except ValueError:
                pass

    def take(self, try_take: Callable[[], bool], available: Callable[[], bool],
             wait_for: Optional[float]) -> bool:
        """Takes one unit (a lock, a semaphore count): try_take() under the guard, waiting up to
        `wait_for` seconds (None: forever, 0: not at all) between attempts. A waiter woken but
        leaving without a unit (interrupted, timed out) passes the wake on."""
        with self.guard:
            if try_take():
                return True
        if wait_for == 0.0:
            return False
        deadline = None if wait_for is None else monotonic() + wait_for
        while True:
            w = Waiter()
            with self.guard:
                if try_take():
                    return True
                self.queue.append(w)
            remaining = None if deadline is None else max(0.0, deadline - monotonic())
            try:
                woken = w.wait(remaining)
            except BaseException:
                self._give_up(w, available)
                raise
            with self.guard:
                if try_take():
                    return True
            if not woken:
                self._give_up(w, available)
                return False

    def _give_up(self, w: Waiter, available: Callable[[], bool]) -> None:
        with self.guard:
            try:
                self.queue.remove(w)
            except ValueError:  # popped by a wake we will not use
                if available():
                    self.wake_one()


class Lock:
    """threading.Lock for greenlets: acquire() suspends only the calling greenlet."""

    __slots__ = ("_waiters", "_locked", "__weakref__")

    def __init__(self) -> None:
        self._waiters = _Waiters()
        self._locked = False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        wait_for = None if blocking is True and timeout == -1 else \
            _check_timeout(blocking, timeout)
        waiters = self._waiters
        # The free lock taken at once (most acquisitions): no bound methods, no waiter.
        with waiters.guard:
            if not self._locked:
                self._locked = True
                return True
        return waiters.take(self._try_take, self._free, wait_for)

    def _try_take(self) -> bool:  # with the guard held
        if self._locked:
            return False
        self._locked = True
        return True

    def _free(self) -> bool:
        return not self._locked

    def release(self) -> None:
        waiters = self._waiters
        with waiters.guard:
            if not self._locked:
                raise RuntimeError("release unlocked lock")
            self._locked = False
            if waiters.queue:
                waiters.wake_one()

    def locked(self) -> bool:
        return self._locked

    __enter__ = acquire

    def __exit__(self, t: Optional[type[BaseException]], v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def _at_fork_reinit(self) -> None:
        self._waiters = _Waiters()
        self._locked = False

    def __repr__(self) -> str:
        return f"<balrog.Lock {'locked' if self._locked else 'unlocked'} at {id(self):#x}>"


class RLock:
    """threading.RLock for greenlets: owned by a greenlet, which may acquire it again."""

    __slots__ = ("_block", "_owner", "_count", "__weakref__")

    def __init__(self) -> None:
        self._block = Lock()
        self._owner: Any = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = getcurrent()
        if self._owner is me:
            self._count += 1
            return True
        block = self._block
        if blocking is True and timeout == -1:
            # Lock.acquire's fast path, inlined (asgiref's Local takes an RLock on every
            # attribute access: Django's connections, per request and per query).
            with block._waiters.guard:
                if not block._locked:
                    block._locked = True
                    self._owner = me
                    self._count = 1
                    return True
        if not block.acquire(blocking, timeout):
            return False
        self._owner = me
        self._count = 1
        return True

    __enter__ = acquire

    def release(self) -> None:
        if self._owner is not getcurrent():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if self._count == 0:
            self._owner = None
            self._block.release()

    def __exit__(self, t: Optional[type[BaseException]], v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def locked(self) -> bool:
        return self._block.locked()

    # What threading.Condition looks for on its lock.
    def _is_owned(self) -> bool:
        return self._owner is getcurrent()

    def _release_save(self) -> tuple[int, Any]:
        if self._owner is not getcurrent():
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Any]) -> None:
        _acquire_uninterrupted(self._block)
        self._count, self._owner = state

    def _at_fork_reinit(self) -> None:
        self._block._at_fork_reinit()
        self._owner = None
        self._count = 0

    def __repr__(self) -> str:
        return f"<balrog.RLock owner={self._owner!r} count={self._count} at {id(self):#x}>"


def _acquire_uninterrupted(lock: Any) -> None:
    """Acquires `lock` even if the greenlet is killed or timed out meanwhile, then raises that.

    Condition.wait must hold its lock again when it returns, however it returns.
    """
    pending: Optional[BaseException] = None
    while True:
        try:
            lock.acquire()
            break
        except BaseException as e:  # noqa: B036 - re-raised below, with the lock held
            pending = e
    if pending is not None:
        raise pending


class Condition:
    """threading.Condition for greenlets (on a balrog Lock or RLock; an RLock by default)."""

    def __init__(self, lock: Any = None) -> None:
        self._lock = RLock() if lock is None else lock
        self.acquire = self._lock.acquire
        self.release = self._lock.release
        self._waiters: deque[Waiter] = deque()

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *args: Any) -> None:
        self._lock.__exit__(*args)

    def _is_owned(self) -> bool:
        if hasattr(self._lock, "_is_owned"):
            return bool(self._lock._is_owned())
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def wait(self, timeout: Optional[float] = None) -> bool:
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        w = Waiter()
        self._waiters.append(w)
        if hasattr(self._lock, "_release_save"):
            saved = self._lock._release_save()
            restore: Callable[[], None] = lambda: self._lock._acquire_restore(saved)
        else:
            self._lock.release()
            restore = lambda: _acquire_uninterrupted(self._lock)  # noqa: E731
        woken = False
        try:
            woken = w.wait(timeout)
            return woken
        finally:
            restore()
            try:
                self._waiters.remove(w)
            except ValueError:
                pass

    def wait_for(self, predicate: Callable[[], T], timeout: Optional[float] = None) -> T:
        end = None if timeout is None else monotonic() + timeout
        result = predicate()
        while not result:
            remaining = None
            if end is not None:
                remaining = end - monotonic()
                if remaining <= 0:
                    break
            self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        while n > 0 and self._waiters:
            if self._waiters.popleft().wake():
                n -= 1

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self._waiters.clear()


class Semaphore:
    """threading.Semaphore for greenlets."""

    def __init__(self, value: int = 1) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value
        self._waiters = _Waiters()

    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        return self._waiters.take(self._try_take, self._available, timeout if blocking else 0.0)

    def _try_take(self) -> bool:  # with the guard held
        if self._value <= 0:
            return False
        self._value -= 1
        return True

    def _available(self) -> bool:
        return self._value > 0

    __enter__ = acquire

    def __exit__(self, *args: Any) -> None:
        self.release()

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        waiters = self._waiters
        with waiters.guard:
            self._value += n
            for _ in range(n):
                waiters.wake_one()


class BoundedSemaphore(Semaphore):
    """threading.BoundedSemaphore for greenlets: releasing above the initial value raises."""

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._initial_value = value

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        with self._waiters.guard:
            if self._value + n > self._initial_value:
                raise ValueError("Semaphore released too many times")
        super().release(n)


class Event:
    """threading.Event for greenlets."""

    def __init__(self) -> None:
        self._flag = False
        self._waiters = _Waiters()

    def is_set(self) -> bool:
        return self._flag

    isSet = is_set

    def set(self) -> None:
        with self._waiters.guard:
            self._flag = True
            self._waiters.wake_all()

    def clear(self) -> None:
        self._flag = False

    def wait(self, timeout: Optional[float] = None) -> bool:
        if self._flag:
            return True
        waiters = self._waiters
        w = Waiter()
        with waiters.guard:
            if self._flag:
                return True
            waiters.queue.append(w)
        try:
            w.wait(timeout)
        finally:
            waiters.leave(w)
        return self._flag

    def _at_fork_reinit(self) -> None:
        self._waiters = _Waiters()
