"""A pool of connections on balrog::pg's pool (one per thread: it belongs to the thread's hub)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

from .. import _native
from . import _errors
from ._connection import Connection
from ._conninfo import make_conninfo

__all__ = ["Pool"]


class Pool:
    """Connections for many greenlets: each borrows one for a while and gives it back.

        pool = balrog.pg.Pool("dbname=app", max_size=10)
        with pool.connection() as conn:          # commit at the end (rollback on an error)
            conn.execute("update ...")

    Borrowed connections are the caller's alone until returned; a connection that comes back
    broken is closed and replaced on demand; one that comes back inside a transaction is rolled
    back first. Waiting for a free connection suspends only the calling greenlet, up to
    ``timeout`` seconds (PoolTimeout); more than 10,000 waiters get PoolExhausted at once.
    ``min_size`` connections are opened now and kept; ``max_lifetime`` and ``max_idle``
    (seconds) retire old and unused ones. A pool belongs to the thread that made it.
    """

    def __init__(self, dsn: str = "", *, min_size: int = 0, max_size: int = 10,
                 timeout: float = 10.0, max_lifetime: float = 1800.0, max_idle: float = 600.0,
                 connect_timeout: float = 10.0, statement_cache: int = 256,
                 autocommit: bool = False, **kwargs: Any) -> None:
        if max_size < 1 or min_size < 0 or min_size > max_size:
            raise ValueError("balrog.pg.Pool: need 0 <= min_size <= max_size and max_size >= 1")
        self._autocommit = autocommit
        self._timeout = timeout
        self._native: Any = _native.pg.Pool.create(
            make_conninfo(dsn, **kwargs), min_size, max_size, timeout, max_lifetime, max_idle,
            connect_timeout, statement_cache)

    def getconn(self, timeout: Optional[float] = None) -> Connection:
        """Borrows a connection; give it back with putconn() (or its close())."""
        if self._native is None:
            raise _errors.InterfaceError("the pool is closed")
        wait = self._timeout if timeout is None else timeout
        try:
            native = self._native.acquire(wait)
        except TimeoutError as e:
            if type(e) is not TimeoutError:  # the caller's own balrog.Timeout
                raise
            raise _errors.PoolTimeout(
                f"no connection became free within {wait} s") from None
        return Connection(native, autocommit=self._autocommit, pool=self)

    def putconn(self, conn: Connection, discard: bool = False) -> None:
        """Gives a borrowed connection back (``discard``: close it instead)."""
        if conn._pool is not self:
            raise _errors.ProgrammingError("the connection does not belong to this pool")
        if discard and conn._native is not None:
            conn._native.discard()
        conn.close()

    @contextmanager
    def connection(self, timeout: Optional[float] = None) -> Iterator[Connection]:
        """Borrows a connection for a block: commit at its end, rollback on an exception."""
        conn = self.getconn(timeout)
        with conn:
            yield conn

    def stats(self) -> dict[str, int]:
        """Counters: open, idle, waiting, connects, connect_failures, discarded_broken..."""
        if self._native is None:
            raise _errors.InterfaceError("the pool is closed")
        return dict(self._native.stats())

    def close(self) -> None:
        """Closes idle connections now and borrowed ones as they come back."""
        self._native = None

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
