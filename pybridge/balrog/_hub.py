"""Each thread's hub: the greenlet that drives the thread's balrog event loop.

The hub is made on first use and kept in a thread-local (the original ``_thread._local``,
captured before :func:`balrog.patch` can replace it), so a thread's hub is destroyed on that
thread when it ends. A forked child drops the parent's hub without running anything of it
(the parent's greenlets, tasks and connections are the parent's) and makes a fresh one on
first use.
"""

from __future__ import annotations

import _thread
import os
from typing import Optional

import greenlet

from . import _native

__all__ = ["get_hub", "Hub"]

Hub = _native.Hub

_local = _thread._local()
# Hubs of forked-away parents: kept alive (never destroyed) in the child, see _after_fork.
_abandoned: list = []


class _Closer:
    """Closes a thread's hub on that thread when the thread ends (its thread-local goes), even
    if someone elsewhere still holds the Hub object."""

    __slots__ = ("hub",)

    def __init__(self, hub: _native.Hub) -> None:
        self.hub = hub

    def __del__(self) -> None:
        try:
            self.hub.close()
        except RuntimeError:
            pass  # collected on another thread: the hub is leaked, never torn down there


def get_hub() -> _native.Hub:
    """This thread's hub, made on first use."""
    hub: Optional[_native.Hub] = getattr(_local, "hub", None)
    if hub is None:
        hub = _native.Hub()
        hub.error_handler = _report_escaped
        _local.hub = hub
        _local.closer = _Closer(hub)
    return hub


def get_hub_if_any() -> Optional[_native.Hub]:
    """This thread's hub, or None when it has none yet."""
    return getattr(_local, "hub", None)


def _report_escaped(g: greenlet.greenlet, exc: BaseException) -> None:
    # An exception escaped a greenlet the hub switched to that is not a balrog.Greenlet (those
    # keep their exception for join()). Print it rather than lose it.
    import sys
    import traceback

    print(f"balrog: greenlet {g!r} failed:", file=sys.stderr)
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _after_fork_in_child() -> None:
    hub = getattr(_local, "hub", None)
    if hub is None:
        return
    del _local.hub
    _local.closer.hub = None  # type: ignore[assignment]
    del _local.closer
    hub.abandon_after_fork()
    _abandoned.append(hub)  # never destroyed: its greenlets must not run here
    current = greenlet.getcurrent()
    if current.parent is not None:
        # A greenlet forked: when it ends it returns to its parent, which was the parent's
        # hub; the child's own hub takes that role.
        current.parent = get_hub().greenlet


os.register_at_fork(after_in_child=_after_fork_in_child)
