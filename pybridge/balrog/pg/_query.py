"""pyformat placeholders (%s, %(name)s) to the server's ($1, $2...)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from ._errors import ProgrammingError

_PLACEHOLDER = re.compile(r"%(?:\(([^)]*)\))?(.)", re.S)
_CACHE_SIZE = 512
# query -> (server text, parameter names in $ order or None for positional, positional count)
_cache: dict[str, tuple[str, Optional[list[str]], int]] = {}


def _parse(query: str) -> tuple[str, Optional[list[str]], int]:
    parts: list[str] = []
    names: list[str] = []
    index: dict[str, int] = {}
    positional = 0
    last = 0
    for m in _PLACEHOLDER.finditer(query):
        parts.append(query[last:m.start()])
        last = m.end()
        name, kind = m.group(1), m.group(2)
        if kind == "%" and name is None:
            parts.append("%")
            continue
        if kind != "s":
            raise ProgrammingError(
                f"only '%s' and '%(name)s' placeholders are allowed, not '{m.group(0)}' "
                "(write '%%' for a literal '%')")
        if name is None:
            positional += 1
            parts.append(f"${positional}")
        else:
            if name not in index:
                names.append(name)
                index[name] = len(names)
            parts.append(f"${index[name]}")
    parts.append(query[last:])
    if positional and names:
        raise ProgrammingError("a query cannot mix '%s' and '%(name)s' placeholders")
    return "".join(parts), (names if names else None), positional


def convert(query: str, params: Any) -> tuple[str, list[Any]]:
    """The server's statement text and its parameter list.

    Without parameters (None) the query goes as it is: '%' is not special then, as in psycopg.
    """
    if params is None:
        return query, []
    if not isinstance(query, str):
        raise TypeError(f"the query must be a str, not {type(query).__name__}")
    parsed = _cache.get(query)
    if parsed is None:
        parsed = _parse(query)
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[query] = parsed
    sql, names, count = parsed
    if names is not None:
        if not isinstance(params, Mapping):
            raise ProgrammingError("the query has named placeholders: pass a mapping")
        try:
            return sql, [params[n] for n in names]
        except KeyError as e:
            raise ProgrammingError(f"the query parameter {e.args[0]!r} is missing") from None
    if isinstance(params, Mapping):
        if count:
            raise ProgrammingError("the query has positional placeholders: pass a sequence")
        return sql, []
    if not isinstance(params, Sequence) or isinstance(params, (str, bytes)):
        raise TypeError("query parameters must be a sequence or a mapping, "
                        f"not {type(params).__name__}")
    if len(params) != count:
        raise ProgrammingError(
            f"the query has {count} placeholder{'s' if count != 1 else ''} but "
            f"{len(params)} parameter{'s were' if len(params) != 1 else ' was'} passed")
    return sql, list(params)
