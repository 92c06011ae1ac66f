"""Running a blocking call on a real thread while the calling greenlet waits.

For calls that cannot cooperate (getaddrinfo, a C extension that blocks): a small pool of
helper threads made with the interpreter's own primitives (captured before balrog.patch()),
so they never touch a hub. The greenlet waits on its hub; the helper wakes it from its thread.
"""

from __future__ import annotations

import _queue
import _thread
import os
from typing import Any, Callable, TypeVar

from ._native import Waiter

__all__ = ["run_in_thread"]

T = TypeVar("T")

_MAX_THREADS = 16
_jobs: Any = _queue.SimpleQueue()  # the C implementation: a real blocking queue
_lock = _thread.allocate_lock()
_threads = 0
_idle = 0


class _Job:
    __slots__ = ("fn", "args", "waiter", "value", "error")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.waiter = Waiter()
        self.value: Any = None
        self.error: BaseException | None = None


def _worker() -> None:
    global _idle
    while True:
        with _lock:
            _idle += 1
        job = _jobs.get()
        with _lock:
            _idle -= 1
        try:
            job.value = job.fn(*job.args)
        except BaseException as e:  # noqa: B036 - handed to the waiting greenlet
            job.error = e
        job.waiter.wake()
        job = None


def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Calls ``fn(*args)`` on a helper thread; the calling greenlet waits, others run.

    Returns its value or raises its exception. If the greenlet is interrupted (killed, timed
    out), the call still completes on its thread and its outcome is dropped.
    """
    global _threads
    job = _Job(fn, args)
    with _lock:
        start = _idle == 0 and _threads < _MAX_THREADS
        if start:
            _threads += 1
    if start:
        _thread.start_new_thread(_worker, ())
    _jobs.put(job)
    job.waiter.wait()
    if job.error is not None:
        raise job.error
    return job.value  # type: ignore[no-any-return]


def _after_fork_in_child() -> None:
    global _jobs, _lock, _threads, _idle
    _jobs, _lock, _threads, _idle = _queue.SimpleQueue(), _thread.allocate_lock(), 0, 0


os.register_at_fork(after_in_child=_after_fork_in_child)
