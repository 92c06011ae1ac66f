"""Introspection: Django's PostgreSQL introspection, unchanged (balrog.pg's
cursor.description carries type OIDs as psycopg2's does)."""

from django.db.backends.postgresql.introspection import (
    DatabaseIntrospection as _StockIntrospection,
)

__all__ = ["DatabaseIntrospection"]


class DatabaseIntrospection(_StockIntrospection):
    pass
