"""SQL generation: Django's PostgreSQL operations, with balrog.pg's value types."""

from __future__ import annotations

from typing import Any, Optional

from django.db.backends.postgresql.operations import DatabaseOperations as _StockOperations

from ._sql import compose

__all__ = ["DatabaseOperations"]


class DatabaseOperations(_StockOperations):
    def adapt_ipaddressfield_value(self, value: Any) -> Optional[str]:
        # psycopg2's Inet wrapper is not a balrog.pg type: the text, which the server casts
        # to inet on assignment and comparison.
        return str(value) if value else None

    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> Optional[str]:
        # balrog.pg sends the parameters apart from the text (no cursor.query): the text with
        # the parameters spelled as literals, as psycopg2 would have sent it.
        try:
            return compose(sql, params)
        except Exception:  # a debugging aid: never fail the statement because of it
            return super(_StockOperations, self).last_executed_query(cursor, sql, params)

    def compose_sql(self, sql: str, params: Any) -> str:
        """``sql`` with ``params`` as literals (Django 4.2's name for it)."""
        return compose(sql, params)
