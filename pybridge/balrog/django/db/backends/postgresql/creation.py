"""Test databases: Django's PostgreSQL creation. A database is dropped only after the pools
that keep connections to it are closed."""

from __future__ import annotations

from django.db.backends.postgresql.creation import DatabaseCreation as _StockCreation

from . import _pools

__all__ = ["DatabaseCreation"]


class DatabaseCreation(_StockCreation):
    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        _pools.close_for_database(test_database_name)
        super()._destroy_test_db(test_database_name, verbosity)

    def _clone_test_db(self, suffix: str, verbosity: int, keepdb: bool = False) -> None:
        # CREATE DATABASE ... TEMPLATE wants no connection to the template database.
        self.connection.close()
        _pools.close_for_database(self.connection.settings_dict["NAME"])
        super()._clone_test_db(suffix, verbosity, keepdb)
