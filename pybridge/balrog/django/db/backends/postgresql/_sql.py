"""SQL text made on the client: literals (for DDL, which takes no parameters, and for
last_executed_query) and the splitting of a script into its statements."""

from __future__ import annotations

import datetime as _dt
import decimal
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from balrog import pg

__all__ = ["quote_literal", "compose", "split_statements"]


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a PostgreSQL string literal cannot contain NUL (0x00) characters")
    # standard_conforming_strings is on (the server's default since 9.1): only ' is special.
    return "'" + value.replace("'", "''") + "'"


def _typed(text: str, type_name: str) -> str:
    return f"{_text(text)}::{type_name}"


def _interval(delta: _dt.timedelta) -> str:
    return _typed(f"{delta.days} days {delta.seconds}.{delta.microseconds:06d} seconds",
                  "interval")


def quote_literal(value: Any) -> str:
    """``value`` as an SQL literal, typed as balrog.pg would send it as a parameter."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return _typed(repr(value).replace("inf", "Infinity").replace("nan", "NaN"),
                          "float8")
        return repr(value)
    if isinstance(value, decimal.Decimal):
        if value.is_nan() or value.is_infinite():
            return _typed(str(value), "numeric")
        return str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _typed("\\x" + bytes(value).hex(), "bytea")
    if isinstance(value, _dt.datetime):
        aware = value.utcoffset() is not None
        return _typed(value.isoformat(" "), "timestamptz" if aware else "timestamp")
    if isinstance(value, _dt.date):
        return _typed(value.isoformat(), "date")
    if isinstance(value, _dt.time):
        return _typed(value.isoformat(), "timetz" if value.utcoffset() is not None else "time")
    if isinstance(value, _dt.timedelta):
        return _interval(value)
    if isinstance(value, uuid.UUID):
        return _typed(str(value), "uuid")
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address,
                          ipaddress.IPv4Network, ipaddress.IPv6Network,
                          ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return _typed(str(value), "inet")
    if isinstance(value, pg.Jsonb) or isinstance(value, dict):
        obj = value.obj if isinstance(value, pg.Json) else value
        return _typed(json.dumps(obj), "jsonb")
    if isinstance(value, pg.Json):
        return _typed(json.dumps(value.obj), "json")
    if isinstance(value, (list, tuple)):
        if not value:
            return "'{}'"
        return "ARRAY[" + ", ".join(quote_literal(v) for v in value) + "]"
    raise pg.ProgrammingError(f"can't adapt type '{type(value).__name__}'")


_PLACEHOLDER = re.compile(r"%(?:\(([^)]*)\))?(.)", re.S)


def compose(sql: str, params: Any) -> str:
    """``sql`` with its %s / %(name)s placeholders replaced by literals (psycopg2's mogrify,
    without the bytes); '%%' becomes '%'. ``params`` None: the text as it is."""
    if params is None:
        return sql
    named = isinstance(params, Mapping)
    if not named and not isinstance(params, Sequence):
        raise TypeError("query parameters must be a sequence or a mapping")
    position = 0

    def replace(m: re.Match[str]) -> str:
        nonlocal position
        name, kind = m.group(1), m.group(2)
        if kind == "%" and name is None:
            return "%"
        if kind != "s":
            raise pg.ProgrammingError(f"unsupported placeholder '{m.group(0)}'")
        if name is not None:
            return quote_literal(params[name])
        if named:
            raise pg.ProgrammingError("the query has positional placeholders: pass a sequence")
        position += 1
        return quote_literal(params[position - 1])

    text = _PLACEHOLDER.sub(replace, sql)
    if not named and position != len(params):
        raise pg.ProgrammingError(
            f"the query has {position} placeholders but {len(params)} parameters were passed")
    return text


_TOKEN = re.compile(
    r"""'(?:[^']|'')*'            # a string
      | "(?:[^"]|"")*"            # a quoted identifier
      | \$([A-Za-z_]\w*)?\$       # a dollar quote's opening tag
      | --[^\n]*                  # a line comment
      | /\*.*?\*/                 # a block comment
      | ;                         # the end of a statement
    """, re.X | re.S)


def split_statements(sql: str) -> list[str]:
    """The statements of a script, split at the semicolons outside strings, quoted identifiers,
    dollar quotes and comments; empty statements are left out."""
    out: list[str] = []
    start = pos = 0
    while True:
        m = _TOKEN.search(sql, pos)
        if m is None:
            break
        token = m.group(0)
        if token == ";":
            out.append(sql[start:m.start()])
            start = pos = m.end()
        elif token.startswith("$"):
            end = sql.find(token, m.end())
            pos = len(sql) if end < 0 else end + len(token)
        else:
            pos = m.end()
    out.append(sql[start:])
    return [s.strip() for s in out if s.strip()]
