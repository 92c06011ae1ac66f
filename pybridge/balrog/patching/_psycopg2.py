"""psycopg2 waits on the hub: its wait callback (psycogreen's technique) polls the connection
and waits for its socket in the calling greenlet only."""

from __future__ import annotations

from typing import Any, Optional

from .._hub import get_hub
from ._registry import mark, on_unpatch


def wait_callback(conn: Any, timeout: Optional[float] = None) -> None:
    """psycopg2.extensions wait callback: drives the connection until its operation is done."""
    import psycopg2
    from psycopg2 import extensions

    hub = get_hub()
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            hub.wait_fd(conn.fileno(), False, timeout)
        elif state == extensions.POLL_WRITE:
            hub.wait_fd(conn.fileno(), True, timeout)
        else:
            raise psycopg2.OperationalError(f"Bad result from poll: {state!r}")


def patch() -> None:
    try:
        from psycopg2 import extensions
    except ImportError:
        return
    if not mark("psycopg2"):
        return
    previous = extensions.get_wait_callback()
    extensions.set_wait_callback(wait_callback)
    on_unpatch(lambda: extensions.set_wait_callback(previous))
