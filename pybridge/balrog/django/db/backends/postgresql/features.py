"""What the backend supports: Django's PostgreSQL features, unchanged."""

from django.db.backends.postgresql.features import DatabaseFeatures as _StockFeatures

__all__ = ["DatabaseFeatures"]


class DatabaseFeatures(_StockFeatures):
    """Django's PostgreSQL features. ``iterator()`` (chunked reads) works, but balrog.pg reads
    every result whole, so it saves no memory on the client (no server-side cursors)."""
