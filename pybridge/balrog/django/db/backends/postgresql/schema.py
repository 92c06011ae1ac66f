"""The schema editor: Django's PostgreSQL one. DDL takes no parameters on the server, so its
parameters become literals here; a script of several statements runs one statement at a time
(balrog.pg sends one statement per execute inside a transaction)."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql.schema import DatabaseSchemaEditor as _StockSchemaEditor

from ._sql import compose, quote_literal, split_statements

__all__ = ["DatabaseSchemaEditor"]


class DatabaseSchemaEditor(_StockSchemaEditor):
    def quote_value(self, value: Any) -> str:
        if isinstance(value, str):
            return quote_literal(value).replace("%", "%%")
        return quote_literal(value)

    def execute(self, sql: Any, params: Any = ()) -> None:
        if self.collect_sql:  # sqlmigrate: Django's own formatting (through quote_value)
            super().execute(sql, params)
            return
        text = compose(str(sql), params) if params else str(sql)
        if not params and params is not None:
            text = text.replace("%%", "%")  # what an empty parameter list does to '%%'
        statements = split_statements(text)
        for statement in statements:
            super().execute(statement, None)
