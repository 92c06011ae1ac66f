"""The connection a DatabaseWrapper holds with OPTIONS["pipeline"]: its statements in autocommit
mode go to the thread's shared autocommit connection, where balrog.pg pipelines them with the
other greenlets'; a transaction gets a connection of its own, borrowed from the pool when its
first statement runs and given back when Django turns autocommit on again."""

from __future__ import annotations

from typing import Any, Callable, Optional

from balrog import pg

__all__ = ["PipelinedConnection"]


class PipelinedConnection:
    """The part of balrog.pg.Connection that Django's backend uses, over two connections."""

    def __init__(self, shared: Callable[[], pg.Connection], pool: pg.Pool) -> None:
        self._shared = shared
        self._pool = pool
        self._own: Optional[pg.Connection] = None
        self._autocommit = False  # PEP 249's start; Django sets it at once
        self._closed = False
        self.isolation_level: Optional[str] = None
        self.read_only = False
        self.json_loads: Optional[Callable[[str], Any]] = None

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if self._own is not None and self._own.in_transaction:
            raise pg.ProgrammingError(
                "can't change autocommit now: the connection is in a transaction")
        if value and self._own is not None:
            own, self._own = self._own, None
            own.close()  # back to the pool
        self._autocommit = bool(value)

    @property
    def in_transaction(self) -> bool:
        return self._own is not None and self._own.in_transaction

    def _target(self) -> pg.Connection:
        if self._closed:
            raise pg.InterfaceError("connection already closed")
        if self._autocommit:
            return self._shared()
        if self._own is None:
            own = self._pool.getconn()
            own.isolation_level = self.isolation_level
            own.read_only = self.read_only
            self._own = own
        return self._own

    def cursor(self) -> pg.Cursor:
        cursor = self._target().cursor()
        cursor.json_loads = self.json_loads
        return cursor

    def commit(self) -> None:
        if self._own is not None:
            self._own.commit()

    def rollback(self) -> None:
        if self._own is not None:
            self._own.rollback()

    def close(self) -> None:
        if self._own is not None:
            own, self._own = self._own, None
            own.close()
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def server_version(self) -> int:
        return self._target().server_version
