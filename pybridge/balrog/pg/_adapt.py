"""Values that need saying how to send them, PEP 249's type objects and constructors, and the
JSON hooks the native conversions call."""

from __future__ import annotations

import datetime as _dt
import json as _json
import time as _time
from contextvars import ContextVar
from typing import Any, Callable, Optional

__all__ = [
    "Json", "Jsonb", "set_json_loads", "set_json_dumps", "Date", "Time", "Timestamp",
    "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary", "STRING", "BINARY",
    "NUMBER", "DATETIME", "ROWID",
]

_module_loads: Callable[[str], Any] = _json.loads
# A cursor's own json_loads, set while that cursor converts rows (Cursor.json_loads).
scoped_loads: ContextVar[Optional[Callable[[str], Any]]] = ContextVar("balrog_pg_json_loads",
                                                                     default=None)
json_dumps: Callable[[Any], str] = _json.dumps


def json_loads(text: str) -> Any:
    """Decodes a json or jsonb value (the native conversions call this)."""
    loads = scoped_loads.get()
    return (_module_loads if loads is None else loads)(text)


def set_json_loads(loads: Callable[[str], Any]) -> None:
    """Replaces the function that decodes json and jsonb values (json.loads by default)."""
    global _module_loads
    _module_loads = loads


def set_json_dumps(dumps: Callable[[Any], str]) -> None:
    """Replaces the function that encodes Json / Jsonb parameters (json.dumps by default)."""
    global json_dumps
    json_dumps = dumps


class Json:
    """A parameter sent as json: ``cur.execute("insert ... values (%s)", (Json(obj),))``."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.obj!r})"


class Jsonb(Json):
    """A parameter sent as jsonb (a dict parameter is sent as jsonb too)."""

    __slots__ = ()


# --- PEP 249 constructors and type objects ------------------------------------------------
Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> _dt.date:  # noqa: N802 - PEP 249's name
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:  # noqa: N802
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:  # noqa: N802
    return Timestamp(*_time.localtime(ticks)[:6])


class _TypeObject:
    """Compares equal to the type OIDs of cursor.description's type_code it stands for."""

    def __init__(self, name: str, *oids: int) -> None:
        self.name = name
        self.oids = frozenset(oids)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _TypeObject):
            return self.oids == other.oids
        return other in self.oids

    def __hash__(self) -> int:
        return hash(self.oids)

    def __repr__(self) -> str:
        return f"<balrog.pg type object {self.name}>"


STRING = _TypeObject("STRING", 18, 19, 25, 1042, 1043, 705, 114, 3802, 142)
BINARY = _TypeObject("BINARY", 17)
NUMBER = _TypeObject("NUMBER", 20, 21, 23, 26, 700, 701, 1700)
DATETIME = _TypeObject("DATETIME", 1082, 1083, 1114, 1184, 1186, 1266)
ROWID = _TypeObject("ROWID", 26)
