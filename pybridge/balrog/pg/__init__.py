"""balrog.pg: PostgreSQL for sync Python code, on balrog's C++ driver (PEP 249).

    from balrog import pg

    with pg.connect("host=/tmp dbname=app") as conn:
        cur = conn.execute("select id, name from person where id = %s", (7,))
        print(cur.fetchone())

Statements wait in the calling greenlet only: other greenlets run meanwhile, and the
statements of greenlets that share an autocommit connection are pipelined. See docs/python.md
for the types and the rules.
"""

from ._adapt import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Json,
    Jsonb,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    set_json_dumps,
    set_json_loads,
)
from ._connection import Connection, Notify, connect
from ._cursor import Column, Cursor
from ._errors import (
    ConnectionTimeout,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PoolExhausted,
    PoolTimeout,
    ProgrammingError,
    QueryCanceledError,
    TransactionRollbackError,
    Warning,
)
from ._pool import Pool

apilevel = "2.0"
threadsafety = 1  # the module may be shared by threads; a connection belongs to its thread
paramstyle = "pyformat"

__all__ = [
    "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "Binary", "Column", "Connection",
    "ConnectionTimeout", "Cursor", "DataError", "DatabaseError", "Date", "DateFromTicks",
    "Error", "IntegrityError", "InterfaceError", "InternalError", "Json", "Jsonb",
    "NotSupportedError", "Notify", "OperationalError", "Pool", "PoolExhausted", "PoolTimeout",
    "ProgrammingError", "QueryCanceledError", "Time", "TimeFromTicks", "Timestamp",
    "TimestampFromTicks", "TransactionRollbackError", "Warning", "apilevel", "connect",
    "paramstyle", "set_json_dumps", "set_json_loads", "threadsafety",
]
