"""balrog.patch(): making existing blocking libraries cooperate with greenlets.

    import balrog
    balrog.patch()          # time, threading, queue, psycopg2, psycopg (3), requests;
                            # socket=True adds socket, select, selectors and ssl

Patch first, before the libraries make their locks and connections. Each part can be turned
off (``balrog.patch(psycopg2=False)``); patching twice is harmless; ``balrog.unpatch()`` puts
everything back (for tests). See docs/python.md, "Patching".
"""

from __future__ import annotations

from ._registry import is_patched, unpatch

__all__ = ["patch", "unpatch", "is_patched"]


def patch(*, time: bool = True, threading: bool = True, psycopg2: bool = True,
          psycopg: bool = True, requests: bool = True, socket: bool = False) -> None:
    """Makes the chosen modules cooperative: their blocking calls suspend only the calling
    greenlet. psycopg2, psycopg and requests are patched only if installed (requests: sessions
    made afterwards send through balrog.http); psycopg (3) needs threading
    too when greenlets share a connection (its connection lock is a threading.Lock)."""
    if time:
        from . import _time

        _time.patch()
    if threading:
        from . import _threading

        _threading.patch()
    if psycopg2:
        from . import _psycopg2

        _psycopg2.patch()
    if psycopg:
        from . import _psycopg3

        _psycopg3.patch()
    if requests:
        from . import _requests

        _requests.patch()
    if socket:
        from . import _socket

        _socket.patch()


