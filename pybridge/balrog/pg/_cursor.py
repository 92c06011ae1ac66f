"""PEP 249 cursors: results are read whole, then fetched from memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional

from . import _adapt, _query
from ._errors import InterfaceError, ProgrammingError

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Cursor", "Column"]

NUMERIC = 1700


class Column(NamedTuple):
    """An entry of Cursor.description (PEP 249's seven items)."""

    name: str
    type_code: int
    display_size: Optional[int]
    internal_size: Optional[int]
    precision: Optional[int]
    scale: Optional[int]
    null_ok: Optional[bool]


def _column(name: str, oid: int, size: int, modifier: int) -> Column:
    precision = scale = None
    if oid == NUMERIC and modifier >= 4:
        precision, scale = ((modifier - 4) >> 16) & 0xFFFF, (modifier - 4) & 0xFFFF
    return Column(name, oid, None, size if size >= 0 else None, precision, scale, None)


class Cursor:
    """PEP 249 cursor on a balrog.pg Connection.

    execute() sends one statement (placeholders %s or %(name)s) and waits for its result in the
    calling greenlet; other greenlets run meanwhile, and those sharing the connection have their
    statements pipelined with it. The rows are held in memory and converted to Python values as
    they are fetched.

    ``json_loads`` (by default the connection's, which is None: pg.set_json_loads's function)
    decodes the json and jsonb values this cursor fetches; ``lambda s: s`` keeps them as text
    (psycopg2's ``register_default_jsonb(cursor, loads=...)``).
    """

    arraysize: int = 1

    def __init__(self, connection: "Connection") -> None:
        self.connection = connection
        self._result: Any = None
        self._pos = 0
        self._closed = False
        self._description: Optional[list[Column]] = None
        self.rowcount = -1
        self._last: Any = None
        self.lastrowid = None
        self.json_loads: Optional[Callable[[str], Any]] = connection.json_loads

    # --- executing -------------------------------------------------------------------------
    def execute(self, query: str, params: Any = None) -> "Cursor":
        """Runs one statement; ``params`` fill its %s (a sequence) or %(name)s (a mapping)."""
        self._check_open()
        sql, values = _query.convert(query, params)
        self._reset()
        self._set_result(self.connection._run(sql, values, params is None))
        return self

    def executemany(self, query: str, params_seq: Iterable[Any]) -> None:
        """Runs the statement once per parameter set; rowcount is the total rows affected."""
        self._check_open()
        total = 0
        for params in params_seq:
            sql, values = _query.convert(query, params)
            self._reset()
            self._set_result(self.connection._run(sql, values, False))
            total += max(self.rowcount, 0)
        self.rowcount = total
        self._result = None

    def callproc(self, procname: str, params: Sequence[Any] = ()) -> Sequence[Any]:
        """PEP 249: calls a function by name; its result is fetched like a query's."""
        placeholders = ", ".join(["%s"] * len(params))
        self.execute(f"SELECT * FROM {procname}({placeholders})", list(params))
        return params

    def _set_result(self, result: Any) -> None:
        if result.has_rows:
            self._result = result
            self.rowcount = len(result)
        else:
            self._result = None
            self.rowcount = result.rows_affected if result.command_tag else -1
        self._last = result

    def _reset(self) -> None:
        self._result = None
        self._last = None
        self._pos = 0
        self._description = None
        self.rowcount = -1

    @property
    def description(self) -> Optional[list[Column]]:
        """PEP 249: a Column per result column, None after a statement without rows."""
        if self._result is None:
            return None
        if self._description is None:
            self._description = [_column(*c) for c in self._result.columns()]
        return self._description

    @property
    def statusmessage(self) -> Optional[str]:
        """The server's command tag of the last statement ("INSERT 0 1", "SELECT 3"...)."""
        return None if self._last is None else str(self._last.command_tag)

    # --- fetching --------------------------------------------------------------------------
    def _rows_left(self) -> Any:
        self._check_open()
        if self._result is None:
            raise ProgrammingError("no results to fetch")
        return self._result

    def _convert(self, read: Callable[..., Any], *args: Any) -> Any:
        """Runs a native conversion of rows with this cursor's json_loads in effect."""
        if self.json_loads is None:
            return read(*args)
        token = _adapt.scoped_loads.set(self.json_loads)
        try:
            return read(*args)
        finally:
            _adapt.scoped_loads.reset(token)

    def fetchone(self) -> Optional[tuple[Any, ...]]:
        result = self._rows_left()
        if self._pos >= len(result):
            return None
        row = self._convert(result.row, self._pos)
        self._pos += 1
        return row  # type: ignore[no-any-return]

    def fetchmany(self, size: Optional[int] = None) -> list[tuple[Any, ...]]:
        result = self._rows_left()
        n = self.arraysize if size is None else size
        rows: list[tuple[Any, ...]] = self._convert(result.fetch, self._pos, max(n, 0))
        self._pos += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        result = self._rows_left()
        rows: list[tuple[Any, ...]] = self._convert(result.fetch, self._pos, len(result))
        self._pos += len(rows)
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    @property
    def rownumber(self) -> Optional[int]:
        return self._pos if self._result is not None else None

    def scroll(self, value: int, mode: str = "relative") -> None:
        result = self._rows_left()
        target = self._pos + value if mode == "relative" else value
        if mode not in ("relative", "absolute"):
            raise ProgrammingError(f"scroll mode must be 'relative' or 'absolute', not {mode!r}")
        if not 0 <= target <= len(result):
            raise IndexError("scroll out of range")
        self._pos = target

    # --- the rest of PEP 249 ---------------------------------------------------------------
    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self._closed = True
        self._result = None

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("cursor already closed")
        if self.connection.closed:
            raise InterfaceError("connection already closed")

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
