"""psycopg2 waits on the hub: its wait callback (psycogreen's technique) polls the connection
and waits for its socket in the calling greenlet only."""

from __future__ import annotations

from typing import Any, Optional

from .._hub import get_hub
from ._registry import mark, on_unpatch


# psycopg2.extensions' poll states (constants of its C API, the same in every version).
_POLL_OK, _POLL_READ, _POLL_WRITE = 0, 1, 2


def wait_callback(conn: Any, timeout: Optional[float] = None) -> None:
    """psycopg2.extensions wait callback: drives the connection until its operation is done.

    It runs for every query (and several times per connect): no imports or module lookups
    in it."""
    hub = get_hub()
    while True:
        state = conn.poll()
        if state == _POLL_OK:
            return
        if state == _POLL_READ:
            hub.wait_fd(conn.fileno(), False, timeout)
        elif state == _POLL_WRITE:
            hub.wait_fd(conn.fileno(), True, timeout)
        else:
            import psycopg2

            raise psycopg2.OperationalError(f"Bad result from poll: {state!r}")


def patch() -> None:
    try:
        from psycopg2 import extensions
    except ImportError:
        return
    if (extensions.POLL_OK, extensions.POLL_READ, extensions.POLL_WRITE) != (
            _POLL_OK, _POLL_READ, _POLL_WRITE):
        raise RuntimeError("balrog: psycopg2's poll states are not the ones expected")
    if not mark("psycopg2"):
        return
    previous = extensions.get_wait_callback()
    extensions.set_wait_callback(wait_callback)
    on_unpatch(lambda: extensions.set_wait_callback(previous))
