"""The PEP 249 exception hierarchy, with the server's SQLSTATE and diagnostics."""

from __future__ import annotations

from typing import Optional

__all__ = [
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
    "QueryCanceledError", "TransactionRollbackError", "ConnectionTimeout", "PoolTimeout",
    "PoolExhausted", "Diagnostic", "error_for",
]


class Diagnostic:
    """The server's fields of an error (psycopg's Diagnostic)."""

    def __init__(self, sqlstate: str, message_primary: str, message_detail: str = "",
                 message_hint: str = "", severity: str = "") -> None:
        self.sqlstate = sqlstate or None
        self.message_primary = message_primary
        self.message_detail = message_detail or None
        self.message_hint = message_hint or None
        self.severity = severity or None


class Warning(Exception):  # noqa: A001 - PEP 249's name
    """PEP 249: important warnings."""


class Error(Exception):
    """PEP 249: the base of every error of balrog.pg.

    ``sqlstate`` (also ``pgcode``, psycopg2's name) is the server's five-character code, or
    None for errors of the client; ``diag`` has the server's message, detail and hint.
    """

    def __init__(self, message: str = "", *, sqlstate: str = "", detail: str = "",
                 hint: str = "", severity: str = "") -> None:
        super().__init__(message)
        self.diag = Diagnostic(sqlstate, message, detail, hint, severity)

    @property
    def sqlstate(self) -> Optional[str]:
        return self.diag.sqlstate

    @property
    def pgcode(self) -> Optional[str]:
        return self.diag.sqlstate

    @property
    def pgerror(self) -> str:
        return str(self)


class InterfaceError(Error):
    """PEP 249: a misuse of the driver (a closed connection or cursor)."""


class DatabaseError(Error):
    """PEP 249: errors of the database."""


class DataError(DatabaseError):
    """PEP 249: bad data (SQLSTATE class 22: a division by zero, a value out of range...)."""


class OperationalError(DatabaseError):
    """PEP 249: the database's operation failed (connection lost, server shutting down...)."""


class IntegrityError(DatabaseError):
    """PEP 249: a constraint was violated (class 23)."""


class InternalError(DatabaseError):
    """PEP 249: the database's internal state (transaction aborted, cursor state...)."""


class ProgrammingError(DatabaseError):
    """PEP 249: a wrong statement (syntax, no such table, wrong number of parameters...)."""


class NotSupportedError(DatabaseError):
    """PEP 249: a feature the database does not support (class 0A)."""


class QueryCanceledError(OperationalError):
    """The statement was cancelled (57014: statement_timeout, Connection.cancel())."""


class TransactionRollbackError(OperationalError):
    """Serialization failure or deadlock (class 40): retrying the transaction may succeed."""


class ConnectionTimeout(OperationalError, TimeoutError):
    """Connecting took longer than connect_timeout."""


class PoolTimeout(OperationalError, TimeoutError):
    """No pooled connection became free in time."""


class PoolExhausted(OperationalError):
    """Too many callers already wait for a pooled connection."""


# SQLSTATE classes (the first two characters) -> exception, as psycopg maps them.
_BY_CLASS: dict[str, type[Error]] = {
    "0A": NotSupportedError,
    "08": OperationalError,
    "20": ProgrammingError,
    "21": ProgrammingError,
    "22": DataError,
    "23": IntegrityError,
    "24": InternalError,
    "25": InternalError,
    "26": InternalError,
    "27": InternalError,
    "28": OperationalError,
    "2B": InternalError,
    "2D": InternalError,
    "2F": InternalError,
    "34": ProgrammingError,
    "38": InternalError,
    "39": InternalError,
    "3B": InternalError,
    "3D": ProgrammingError,
    "3F": ProgrammingError,
    "40": TransactionRollbackError,
    "42": ProgrammingError,
    "44": ProgrammingError,
    "53": OperationalError,
    "54": OperationalError,
    "55": OperationalError,
    "57": OperationalError,
    "58": OperationalError,
    "F0": InternalError,
    "HV": OperationalError,
    "P0": InternalError,
    "XX": InternalError,
}


def error_for(sqlstate: str, message: str, detail: str = "", hint: str = "",
              severity: str = "", kind: str = "") -> Error:
    """The exception for an error reported by balrog::pg (called by the native module)."""
    cls: type[Error]
    if kind == "programming":
        cls, sqlstate = ProgrammingError, ""
    elif kind == "pool_exhausted":
        cls = PoolExhausted
    elif sqlstate == "57014":
        cls = QueryCanceledError
    elif kind == "connection" and not sqlstate:
        cls = OperationalError
    else:
        cls = _BY_CLASS.get(sqlstate[:2], DatabaseError) if sqlstate else DatabaseError
    return cls(message, sqlstate=sqlstate, detail=detail, hint=hint, severity=severity)
