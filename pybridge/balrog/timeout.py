"""Timeout: a deadline that bounds every wait of a block."""

from __future__ import annotations

from types import TracebackType
from typing import Optional

from . import _native
from ._greenlet import getcurrent

__all__ = ["Timeout"]


class Timeout(TimeoutError):
    """A deadline for a block of code, in seconds from entering it::

        with balrog.Timeout(2.5):
            rows = cur.execute(query).fetchall()   # raises the Timeout after 2.5 s

    Every wait inside the block — a query, a sleep, a lock, a join, a socket — raises this
    Timeout instance (a TimeoutError) once the deadline has passed; a native call in flight is
    cancelled. Code that does not wait is not interrupted. Timeouts nest: the earliest one
    fires, and ``except balrog.Timeout as t: if t is outer: ...`` tells them apart. ``None``
    means no deadline. A Timeout applies to the greenlet that entered it; it may be entered
    again after it has exited (a new deadline each time).
    """

    def __init__(self, seconds: Optional[float] = None) -> None:
        super().__init__(f"balrog: deadline of {seconds} s exceeded")
        self.seconds = seconds
        self._timer: Optional[_native.Timer] = None

    def __enter__(self) -> "Timeout":
        if self._timer is not None:
            raise RuntimeError("balrog: this Timeout is already active")
        if self.seconds is not None:
            self._timer = _native.Timer(self.seconds, getcurrent(), self)
        return self

    def __exit__(self, typ: Optional[type[BaseException]], value: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()  # and a throw of this Timeout not yet delivered

    @property
    def pending(self) -> bool:
        """True while the block runs and the deadline has not passed."""
        return self._timer is not None and self._timer.pending
