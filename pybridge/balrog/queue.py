"""Queues for greenlets (and threads): queue.Queue, LifoQueue, PriorityQueue and SimpleQueue
with balrog's locks, so get() and put() suspend only the calling greenlet.

Same API and errors as the ``queue`` module (queue.Empty, queue.Full, task_done(), join()).
"""

from __future__ import annotations

import queue as _std_queue
from typing import Any

from .sync import Condition, Lock, Semaphore

__all__ = ["Queue", "LifoQueue", "PriorityQueue", "SimpleQueue", "Empty", "Full"]

Empty = _std_queue.Empty
Full = _std_queue.Full


class _BalrogLocks:
    def _balrog_locks(self) -> None:
        # queue.Queue.__init__ made these from the threading module; replace them.
        self.mutex = Lock()  # type: ignore[assignment]
        self.not_empty = Condition(self.mutex)  # type: ignore[assignment]
        self.not_full = Condition(self.mutex)  # type: ignore[assignment]
        self.all_tasks_done = Condition(self.mutex)  # type: ignore[assignment]


class Queue(_std_queue.Queue, _BalrogLocks):  # type: ignore[type-arg]
    """queue.Queue for greenlets; maxsize <= 0 means unbounded."""

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._balrog_locks()


class LifoQueue(_std_queue.LifoQueue, _BalrogLocks):  # type: ignore[type-arg]
    """queue.LifoQueue for greenlets."""

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._balrog_locks()


class PriorityQueue(_std_queue.PriorityQueue, _BalrogLocks):  # type: ignore[type-arg]
    """queue.PriorityQueue for greenlets."""

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._balrog_locks()


class SimpleQueue(_std_queue._PySimpleQueue):  # type: ignore[misc,name-defined]
    """queue.SimpleQueue for greenlets (the pure-Python one, on a balrog Semaphore)."""

    def __init__(self) -> None:
        super().__init__()
        self._count = Semaphore(0)

    def __class_getitem__(cls, item: Any) -> Any:
        return cls
