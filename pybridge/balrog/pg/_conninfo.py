"""Building a libpq connection string from a DSN and keyword arguments (as psycopg does)."""

from __future__ import annotations

from typing import Any

_RENAMED = {"database": "dbname"}


def _quote(value: Any) -> str:
    s = str(value)
    if s and all(c.isalnum() or c in "._-/:@" for c in s):
        return s
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def make_conninfo(dsn: str = "", **kwargs: Any) -> str:
    """``dsn`` (key=value pairs or a postgres:// URI) with ``kwargs`` added (they win).

    Results are asked for in UTF-8 (client_encoding), which balrog.pg decodes, unless the
    DSN or the arguments say otherwise.
    """
    pairs = {_RENAMED.get(k, k): v for k, v in kwargs.items() if v is not None}
    uri = dsn.startswith(("postgres://", "postgresql://"))
    if "client_encoding" not in pairs and "client_encoding" not in dsn:
        pairs["client_encoding"] = "UTF8"
    if uri:
        from urllib.parse import quote

        extra = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in pairs.items())
        return dsn + ("&" if "?" in dsn else "?") + extra if extra else dsn
    extra = " ".join(f"{k}={_quote(v)}" for k, v in pairs.items())
    return f"{dsn} {extra}".strip()
