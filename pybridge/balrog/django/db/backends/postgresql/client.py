"""The dbshell client: Django's (psql)."""

from django.db.backends.postgresql.client import DatabaseClient as _StockClient

__all__ = ["DatabaseClient"]


class DatabaseClient(_StockClient):
    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):  # type: ignore[no-untyped-def]
        # The backend's own OPTIONS are not psql's.
        options = {k: v for k, v in settings_dict.get("OPTIONS", {}).items()
                   if k not in ("pool", "pipeline", "statement_cache", "connect_timeout")}
        return super().settings_to_cmd_args_env({**settings_dict, "OPTIONS": options}, parameters)
