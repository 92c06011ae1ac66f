"""Greenlet-local storage: threading.local where each greenlet is a thread.

It is the standard library's pure-Python threading.local (``_threading_local``), loaded a
second time with "the current thread" meaning the current greenlet (greenlets have a
``__dict__`` and weak references, which is all it needs). Its own lock is a real RLock: it is
held for one attribute access, never across a wait.
"""

from __future__ import annotations

import _thread
import importlib.util

import greenlet

__all__ = ["local"]


def _greenlet_local_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.find_spec("_threading_local")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.current_thread = greenlet.getcurrent  # type: ignore[attr-defined]
    module.RLock = _thread.RLock  # type: ignore[attr-defined]
    return module


class local(_greenlet_local_module().local):  # type: ignore[misc]
    """threading.local for greenlets: attributes set in one greenlet are not seen by others.

    Subclasses may define __init__; it runs (with the constructor's arguments) the first time
    each greenlet touches the object, as threading.local does per thread.
    """

    __slots__ = ()
