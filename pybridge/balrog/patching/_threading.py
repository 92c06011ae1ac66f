"""threading's locks and locals, and queue's queues, for greenlets (as gevent patches them).

Patched: _thread.allocate_lock / LockType / RLock / _local / get_ident, threading.Lock /
_allocate_lock / RLock / local / get_ident / current_thread, queue.SimpleQueue.
threading.Condition, Event, Semaphore, Barrier and queue.Queue are written on those locks, so
they cooperate too (when made after the patch).

Thread identity is per greenlet, as under gevent's monkey-patching: get_ident() is the
greenlet's id, and current_thread() a dummy Thread made for the greenlet on first use and kept
on it (so it goes with the greenlet; it is never in threading._active). A thread's main
greenlet keeps the real thread's identity and Thread object. Code that keys state on thread
identity (asgiref.local.Local, Django's connections) thus keeps it per greenlet.

A greenlet's end is its thread's end: when a greenlet started with balrog.spawn() that took a
thread identity ends, the Django database connections of that "thread" are closed (given back
to the pool, with balrog's backend), as a thread's connections would be once the thread is
gone, but now rather than whenever the garbage collector gets to them. balrog-wsgi runs each
request in a new greenlet, so no request leaves its connection behind, whatever CONN_MAX_AGE.

Threads stay real threads: balrog's locks are correct between threads (each waits in its own
hub); Thread.join() still blocks the OS thread that calls it.
"""

from __future__ import annotations

import _thread
import os
import queue
import sys
import threading
import weakref
from typing import Optional

import greenlet

from .. import _greenlet
from .. import queue as balrog_queue
from .. import sync
from .._local import local
from ._registry import mark, on_unpatch, replace

_THREAD_ATTR = _greenlet._THREAD_ATTR  # where a greenlet keeps its dummy Thread
# The real ones, taken when patch() first imports this module (before it replaces them).
_real_get_ident = _thread.get_ident
_real_current_thread = threading.current_thread


def get_ident() -> int:
    """The current greenlet's identity: the real thread's ident in a thread's main greenlet,
    else the greenlet's id (unique among live greenlets and threads, stable for its life)."""
    current = greenlet.getcurrent()
    if current.parent is None:
        return _real_get_ident()
    return id(current)


# The started Event every greenlet's dummy Thread shares (made with the real locks: it is set
# before anyone can wait on it, and never cleared).
_STARTED = threading.Event()
_STARTED.set()


class _GreenletThread(threading.Thread):
    """threading.current_thread() in a greenlet that is not its thread's main greenlet: like
    threading._DummyThread, but neither registered in threading._active nor ever joined."""

    # Thread.__init__ is not called (as gevent's dummy threads do): it would make an Event (a
    # Condition on a Lock), a closure and a weak reference in threading._dangling for every
    # greenlet that asks who it is (each request, under Django). What it sets is set here, the
    # constant parts once for all.
    _target = None
    _args = ()
    _tstate_lock = None
    _is_stopped = False
    _initialized = True
    _invoke_excepthook = None

    def __init__(self, current: greenlet.greenlet, real: Optional[threading.Thread]) -> None:
        self._name = threading._newname("Greenlet-%d")  # type: ignore[attr-defined]
        self._daemonic = True if real is None else real.daemon
        self._kwargs: dict = {}
        self._started = _STARTED
        self._stderr = sys.stderr
        self._greenlet = weakref.ref(current)  # no cycle: the greenlet owns this object
        self._ident = id(current)
        self._native_id = threading.get_native_id()

    def _stop(self) -> None:
        pass

    def is_alive(self) -> bool:
        current = self._greenlet()
        return current is not None and not current.dead

    def join(self, timeout: Optional[float] = None) -> None:
        raise RuntimeError("cannot join a greenlet's dummy thread")


def _before_fork() -> None:
    # threading's own after-fork handler (registered before ours, so it runs first in the
    # child) finds the thread that forked by get_ident(): let it see the real thread even when
    # a greenlet forks, then put the greenlet-aware one back.
    if threading.get_ident is get_ident:
        threading.get_ident = _real_get_ident  # type: ignore[assignment]
        _forking.append(True)


def _after_fork() -> None:
    if _forking:
        _forking.clear()
        threading.get_ident = get_ident


_forking: list[bool] = []
os.register_at_fork(before=_before_fork, after_in_parent=_after_fork,
                    after_in_child=_after_fork)


def current_thread() -> threading.Thread:
    """The Thread object of the current greenlet (see the module's docstring)."""
    current = greenlet.getcurrent()
    thread: Optional[threading.Thread] = current.__dict__.get(_THREAD_ATTR)
    if thread is not None:  # asked again (asgiref's Local asks on every attribute access)
        return thread
    if current.parent is None:
        return _real_current_thread()
    real = threading._active.get(_real_get_ident())  # type: ignore[attr-defined]
    thread = _GreenletThread(current, real)
    setattr(current, _THREAD_ATTR, thread)
    return thread


def _close_django_connections() -> None:
    """The ending greenlet's Django connections, closed (a thread-end hook of balrog._greenlet).
    Only if the application imported django.db and configured its settings; close_all() closes
    the connections this greenlet opened, no other greenlet's."""
    db = sys.modules.get("django.db")
    if db is None:
        return
    from django.conf import settings

    if settings.configured:
        db.connections.close_all()


def patch() -> None:
    if not mark("threading"):
        return
    _greenlet.thread_end_hooks.append(_close_django_connections)
    on_unpatch(lambda: _greenlet.thread_end_hooks.remove(_close_django_connections))
    replace(_thread, "allocate_lock", sync.Lock)
    replace(_thread, "LockType", sync.Lock)
    replace(_thread, "RLock", sync.RLock)
    replace(_thread, "_local", local)
    replace(threading, "Lock", sync.Lock)
    replace(threading, "_allocate_lock", sync.Lock)
    replace(threading, "RLock", sync.RLock)
    replace(threading, "local", local)
    replace(queue, "SimpleQueue", balrog_queue.SimpleQueue)
    replace(_thread, "get_ident", get_ident)
    replace(threading, "get_ident", get_ident)
    replace(threading, "current_thread", current_thread)
