"""PEP 249 connections on balrog::pg (docs/python.md, "balrog.pg")."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Callable, Optional

from .. import _native
from ..sync import Lock
from . import _errors
from ._conninfo import make_conninfo
from ._cursor import Cursor

__all__ = ["Connection", "connect", "Notify"]


class Notify(tuple):  # type: ignore[type-arg]
    """A NOTIFY received: (channel, payload, pid)."""

    @property
    def channel(self) -> str:
        return self[0]  # type: ignore[no-any-return]

    @property
    def payload(self) -> str:
        return self[1]  # type: ignore[no-any-return]

    @property
    def pid(self) -> int:
        return self[2]  # type: ignore[no-any-return]


class _ScriptResult:
    """What execute() reports for a multi-statement script: no rows, no count."""

    has_rows = False
    command_tag = ""
    rows_affected = 0


_SCRIPT_DONE = _ScriptResult()


class Connection:
    """A PEP 249 connection. Made by :func:`connect` (or a :class:`Pool`).

    Transactions follow PEP 249: unless ``autocommit`` is on, the first statement opens a
    transaction that lasts until commit() or rollback(); it belongs to the connection, so
    statements of every greenlet using the connection meanwhile run inside it. With autocommit
    each statement is its own transaction, and the statements of greenlets sharing the
    connection are pipelined (sent together, results read in order).

    A connection belongs to the thread that made it. Use as a context manager: commits (or
    rolls back on an exception) and closes at the end of the block.
    """

    # PEP 249's optional extension: the exceptions as attributes.
    Warning = _errors.Warning
    Error = _errors.Error
    InterfaceError = _errors.InterfaceError
    DatabaseError = _errors.DatabaseError
    DataError = _errors.DataError
    OperationalError = _errors.OperationalError
    IntegrityError = _errors.IntegrityError
    InternalError = _errors.InternalError
    ProgrammingError = _errors.ProgrammingError
    NotSupportedError = _errors.NotSupportedError

    def __init__(self, native: Any, *, autocommit: bool = False, pool: Any = None) -> None:
        self._native = native
        self._autocommit = autocommit
        self._begin_lock = Lock()
        self._pool = pool
        self.isolation_level: Optional[str] = None
        self.read_only = False
        # The json_loads of the cursors made from now on (None: pg.set_json_loads's function).
        self.json_loads: Optional[Callable[[str], Any]] = None

    # --- transactions ----------------------------------------------------------------------
    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if self._live().in_transaction:
            raise _errors.ProgrammingError(
                "can't change autocommit now: the connection is in a transaction")
        self._autocommit = bool(value)

    @property
    def in_transaction(self) -> bool:
        return bool(self._live().in_transaction)

    def commit(self) -> None:
        self._live().commit()

    def rollback(self) -> None:
        self._live().rollback()

    def _run(self, sql: str, values: list[Any], script_ok: bool) -> Any:
        native = self._live()
        if not self._autocommit and not native.in_transaction:
            with self._begin_lock:  # greenlets arriving together share one BEGIN
                if not native.in_transaction:
                    native.begin(self.isolation_level or "", self.read_only)
        try:
            return native.query(sql, values)
        except _errors.ProgrammingError as e:
            # Several statements in one string, without parameters: psycopg runs them with the
            # simple query protocol. balrog::pg does that only outside a transaction, and does
            # not return their rows.
            if not script_ok or e.sqlstate != "42601" or "multiple commands" not in str(e):
                raise
            if native.in_transaction:
                raise _errors.NotSupportedError(
                    "several statements in one execute() run only in autocommit mode "
                    "(and return no rows); send them one by one") from None
            native.execute_script(sql)
            return _SCRIPT_DONE

    # --- statements ------------------------------------------------------------------------
    def cursor(self) -> Cursor:
        self._live()
        return Cursor(self)

    def execute(self, query: str, params: Any = None) -> Cursor:
        """A new cursor's execute() (psycopg 3's shortcut); returns the cursor."""
        return self.cursor().execute(query, params)

    def cancel(self) -> None:
        """Asks the server to cancel the statement it runs for this connection."""
        self._live().cancel()

    def notifies(self, timeout: Optional[float] = None) -> Optional[Notify]:
        """The next NOTIFY for a LISTENed channel, or None after ``timeout`` seconds."""
        n = self._live().wait_notification(timeout)
        return None if n is None else Notify(n)

    # --- life ------------------------------------------------------------------------------
    def close(self) -> None:
        """Closes (a pooled connection goes back to its pool). An open transaction is rolled
        back. Closing twice does nothing."""
        if self._native is not None:
            self._native.close()
            self._native = None

    @property
    def closed(self) -> bool:
        return self._native is None or bool(self._native.closed)

    @property
    def server_version(self) -> int:
        return int(self._live().server_version)

    @property
    def backend_pid(self) -> int:
        return int(self._live().backend_pid)

    def _live(self) -> Any:
        if self._native is None:
            raise _errors.InterfaceError("connection already closed")
        return self._native

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, typ: Optional[type[BaseException]], value: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self._native is None:
            return
        try:
            if self._native.in_transaction:
                if typ is None:
                    self.commit()
                else:
                    self.rollback()
        finally:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"pid {self._native.backend_pid}"
        return f"<balrog.pg.Connection {state} at {id(self):#x}>"


def connect(dsn: str = "", *, autocommit: bool = False, connect_timeout: float = 10.0,
            statement_cache: int = 256, pipeline: bool = True, **kwargs: Any) -> Connection:
    """Opens a connection; ``dsn`` is a libpq connection string or URI, ``kwargs`` more of its
    keys (host, port, dbname, user, password...).

    Raises OperationalError when the server cannot be reached or refuses, ConnectionTimeout
    (an OperationalError and a TimeoutError) after ``connect_timeout`` seconds.
    ``statement_cache``: prepared statements kept per connection (0 behind PgBouncer in
    transaction mode). ``pipeline``: pipeline the statements of greenlets sharing it.
    """
    conninfo = make_conninfo(dsn, **kwargs)
    try:
        native = _native.pg.Connection.connect(conninfo, connect_timeout, statement_cache, pipeline)
    except TimeoutError as e:
        if type(e) is not TimeoutError:  # a balrog.Timeout of the caller's: not ours to rename
            raise
        raise _errors.ConnectionTimeout(
            f"could not connect within {connect_timeout} s", sqlstate="08001") from None
    return Connection(native, autocommit=autocommit)
