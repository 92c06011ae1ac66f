"""threading's locks and locals, and queue's queues, for greenlets (as gevent patches them).

Patched: _thread.allocate_lock / LockType / RLock / _local, threading.Lock / _allocate_lock /
RLock / local, queue.SimpleQueue. threading.Condition, Event, Semaphore, Barrier and
queue.Queue are written on those locks, so they cooperate too (when made after the patch).
Threads stay real threads: balrog's locks are correct between threads (each waits in its own
hub); Thread.join() still blocks the OS thread that calls it.
"""

from __future__ import annotations

import _thread
import queue
import threading

from .. import queue as balrog_queue
from .. import sync
from .._local import local
from ._registry import mark, replace


def patch() -> None:
    if not mark("threading"):
        return
    replace(_thread, "allocate_lock", sync.Lock)
    replace(_thread, "LockType", sync.Lock)
    replace(_thread, "RLock", sync.RLock)
    replace(_thread, "_local", local)
    replace(threading, "Lock", sync.Lock)
    replace(threading, "_allocate_lock", sync.Lock)
    replace(threading, "RLock", sync.RLock)
    replace(threading, "local", local)
    replace(queue, "SimpleQueue", balrog_queue.SimpleQueue)
