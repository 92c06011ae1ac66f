"""The DatabaseWrapper of ``balrog.django.db.backends.postgresql``.

Django's PostgreSQL backend with balrog.pg in place of psycopg2. A DatabaseWrapper (one per
thread, so one per greenlet under balrog.patch()) borrows its connection from a balrog.pg pool
of the thread, and gives it back where Django would close it: at the end of each request with
CONN_MAX_AGE = 0, once the connection is older than CONN_MAX_AGE otherwise, or when it is
unusable; and, whatever CONN_MAX_AGE, when the greenlet that borrowed it ends (balrog.patch():
a greenlet's end is its thread's end), so balrog-wsgi's request greenlets never keep one.
OPTIONS:

- ``"pool"``: True (the default), False (plain connections, closed where Django closes
  them), or a dict of balrog.pg.Pool options: min_size, max_size, timeout, max_lifetime,
  max_idle. max_size defaults to DEFAULT_POOL_MAX_SIZE (64), not balrog.pg.Pool's 10: a
  request holds its connection from its first query to its end (waits on other services
  included), so the pool's size caps the requests in flight that use the database, and 10
  would queue most of a busy worker's requests; 64 stays under PostgreSQL's default
  max_connections (100) for one worker (several: size it so that they all fit). Without
  max_lifetime, a positive CONN_MAX_AGE is the pool's max_lifetime: no
  connection is used longer than CONN_MAX_AGE.
- ``"pipeline"``: True makes the statements that Django runs in autocommit mode (outside
  transactions) share one connection per thread, where balrog.pg pipelines the statements of
  concurrent greenlets; a transaction (atomic) borrows a connection of its own from the pool.
  The shared connection's session state is everyone's: no SET in autocommit mode then.
- ``"isolation_level"``: "read committed", "repeatable read", "serializable" (or psycopg2's
  ISOLATION_LEVEL_* numbers).
- ``"connect_timeout"``, ``"statement_cache"``: balrog.pg.connect's; anything else is a
  libpq connection parameter (sslmode, options, application_name...).
"""

from __future__ import annotations

from typing import Any, Optional, Union

from django.db.backends.postgresql import base as _stock
from django.utils.asyncio import async_unsafe

from balrog import pg as Database

from . import _pools
from ._pipeline import PipelinedConnection
from .client import DatabaseClient
from .creation import DatabaseCreation
from .features import DatabaseFeatures
from .introspection import DatabaseIntrospection
from .operations import DatabaseOperations
from .schema import DatabaseSchemaEditor

# The pool's max_size when OPTIONS["pool"] names none (see the module's docstring).
DEFAULT_POOL_MAX_SIZE = 64

__all__ = ["DatabaseWrapper", "Database"]

# psycopg2.extensions.ISOLATION_LEVEL_* -> balrog.pg's names.
_ISOLATION_NAMES = {1: "read committed", 2: "repeatable read", 3: "serializable",
                    4: "read committed"}


def _isolation_name(level: Union[None, int, str]) -> Optional[str]:
    if level is None:
        return None
    if isinstance(level, int):
        try:
            return _ISOLATION_NAMES[level]
        except KeyError:
            raise ValueError(f"unknown isolation level {level!r}") from None
    return str(level).lower()


def _json_as_text(text: str) -> str:
    # JSONField decodes the text itself (with its own decoder): psycopg2's backend registers
    # the same identity function for jsonb.
    return text


class DatabaseWrapper(_stock.DatabaseWrapper):
    Database = Database
    SchemaEditorClass = DatabaseSchemaEditor
    client_class = DatabaseClient
    creation_class = DatabaseCreation
    features_class = DatabaseFeatures
    introspection_class = DatabaseIntrospection
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session_timezone: Optional[str] = None
        self._session_changed = False

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        # The session's time zone is set when the connection starts (libpq's options), so a
        # connection borrowed from the pool needs no SET TIME ZONE round trip.
        timezone_name = self.timezone_name
        if timezone_name:
            setting = "-c TimeZone=" + timezone_name.replace("\\", "\\\\").replace(" ", "\\ ")
            given = params.get("options")
            params["options"] = f"{given} {setting}" if given else setting
        return params

    @async_unsafe
    def get_new_connection(
            self, conn_params: dict[str, Any]) -> Union[Database.Connection, PipelinedConnection]:
        params = dict(conn_params)
        pool = params.pop("pool", True)
        pipeline = params.pop("pipeline", False)
        connection: Union[Database.Connection, PipelinedConnection]
        if pool is False or pool is None:
            if pipeline:
                raise ValueError("OPTIONS: 'pipeline' needs the pool")
            connection = Database.connect(**params)
        else:
            options = {} if pool is True else dict(pool)
            options.setdefault("max_size", DEFAULT_POOL_MAX_SIZE)
            max_age = self.settings_dict.get("CONN_MAX_AGE")
            if max_age and "max_lifetime" not in options:
                options["max_lifetime"] = float(max_age)
            the_pool = _pools.pool_for(params, options)
            if pipeline:
                connection = PipelinedConnection(lambda: _pools.shared_for(params), the_pool)
            else:
                connection = the_pool.getconn()
        level = self.settings_dict["OPTIONS"].get("isolation_level")
        self.isolation_level = level
        connection.isolation_level = _isolation_name(level)
        connection.json_loads = _json_as_text
        self._session_timezone = self.timezone_name
        self._session_changed = False
        return connection

    def ensure_timezone(self) -> bool:
        if self.connection is None:
            return False
        timezone_name = self.timezone_name
        if timezone_name and timezone_name != self._session_timezone:
            if isinstance(self.connection, PipelinedConnection):
                # The shared connection keeps its time zone: connect again, to the shared
                # connection of the new time zone.
                self.close()
                return False
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT set_config('TimeZone', %s, false)", [timezone_name])
            self._session_timezone = timezone_name
            self._session_changed = True  # not the pool's time zone: discard when closed
            return True
        return False

    def init_connection_state(self) -> None:
        # client_encoding is UTF8 from the start (balrog.pg asks for it).
        if self.ensure_timezone() and not self.get_autocommit():
            self.connection.commit()

    @async_unsafe
    def create_cursor(self, name: Optional[str] = None) -> Database.Cursor:
        # No server-side (named) cursors: balrog.pg reads each result whole, so iterator()
        # gets an ordinary cursor.
        return self.connection.cursor()

    def _close(self) -> None:
        if self.connection is None:
            return
        with self.wrap_database_errors:
            pool = self.connection._pool
            if self._session_changed and pool is not None:
                pool.putconn(self.connection, discard=True)
            else:
                self.connection.close()

    def is_usable(self) -> bool:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Database.Error:
            return False
        return True
