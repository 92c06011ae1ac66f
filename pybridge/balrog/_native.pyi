"""Type stubs for balrog._native, the native half of the package (pybridge/src/bindings/).

Applications use the pure-Python API (balrog, balrog.pg); these are its building blocks.
"""

from typing import Any, Callable, Optional, Sequence

import greenlet

class CancelledError(Exception):
    """A C++ operation was cancelled by C++ code (balrog::cancelled)."""

class Hub:
    """One thread's hub: the greenlet that drives the thread's balrog event loop.

    Made by balrog.get_hub(); one per thread (a second one raises RuntimeError).
    """

    def __init__(self) -> None: ...
    @property
    def greenlet(self) -> greenlet.greenlet:
        """The hub greenlet (the parent of every balrog.Greenlet)."""
    @property
    def main(self) -> greenlet.greenlet:
        """The thread's root greenlet (Ctrl-C and SystemExit are raised there)."""
    def spawn(self, g: greenlet.greenlet) -> None:
        """Starts `g` (a greenlet whose parent is the hub) in the hub's next round."""
    def yield_(self) -> None:
        """Lets every other ready greenlet run and the loop take a turn."""
    def sleep(self, seconds: float) -> None:
        """Suspends the calling greenlet; a non-positive `seconds` yields."""
    def throw(self, g: greenlet.greenlet, exc: BaseException) -> None:
        """Raises `exc` in `g` at its current wait, or its next one; at once in the caller."""
    def cancel_throw(self, greenlet: greenlet.greenlet,
                     exc: Optional[BaseException] = None) -> None:
        """Drops a throw into `greenlet` not yet delivered (only `exc`, if given)."""
    def wait_fd(self, fd: int, write: bool, timeout: Optional[float] = None) -> bool:
        """Waits until `fd` is readable (writable); False when `timeout` seconds passed first.

        Raises OSError for a bad fd. Regular files are always ready.
        """
    def abandon_after_fork(self) -> None:
        """In a forked child: forgets this hub without running anything of it."""
    def fileno(self) -> int:
        """The event loop's epoll fd (readable when balrog has I/O to process)."""
    @property
    def native_alive(self) -> int:
        """C++ fibers and tasks alive on the loop."""
    error_handler: Optional[Callable[[greenlet.greenlet, BaseException], None]]

class Waiter:
    """One wait of the greenlet that makes it (made claimable at once: publish it, then wait).

    wake() may be called from any thread; the first wake (or the timeout) wins.
    """

    def __init__(self) -> None: ...
    def wait(self, timeout: Optional[float] = None) -> bool:
        """Switches to the hub until woken (True) or `timeout` seconds passed (False)."""
    def wake(self) -> bool:
        """Wakes the waiting greenlet; False if it was already woken or no longer waits."""
    def throw(self, exc: BaseException) -> bool:
        """Wakes it with `exc` raised by its wait()."""
    @property
    def waiting(self) -> bool: ...

class Timer:
    """Raises `exc` in `greenlet` after `seconds` (balrog.Timeout), unless cancelled first."""

    def __init__(self, seconds: float, greenlet: greenlet.greenlet, exc: BaseException) -> None: ...
    def cancel(self) -> None:
        """Disarms it, and drops its throw if it fired but was not delivered yet."""
    @property
    def pending(self) -> bool: ...

def get_hub_or_none() -> Optional[Hub]: ...

class _PgModule:
    """balrog::pg for balrog.pg (the DB-API face is balrog/pg/)."""

    class Result:
        def __len__(self) -> int: ...
        def fetch(self, start: int, count: int) -> list[tuple[Any, ...]]: ...
        def row(self, i: int) -> tuple[Any, ...]: ...
        def columns(self) -> list[tuple[str, int, int, int]]:
            """(name, type OID, internal size, type modifier) per column."""
        @property
        def command_tag(self) -> str: ...
        @property
        def rows_affected(self) -> int: ...
        @property
        def has_rows(self) -> bool: ...

    class Connection:
        @staticmethod
        def connect(conninfo: str, timeout: float = 10.0, statement_cache: int = 256,
                    pipeline: bool = True) -> "_PgModule.Connection": ...
        def query(self, sql: str, params: Sequence[Any]) -> "_PgModule.Result": ...
        def execute_script(self, sql: str) -> None: ...
        def begin(self, isolation: str = "", read_only: bool = False) -> None: ...
        def commit(self) -> None: ...
        def rollback(self) -> None: ...
        @property
        def in_transaction(self) -> bool: ...
        def cancel(self) -> None: ...
        def wait_notification(
            self, timeout: Optional[float] = None) -> Optional[tuple[str, str, int]]: ...
        def discard(self) -> None: ...
        def close(self) -> None: ...
        @property
        def closed(self) -> bool: ...
        @property
        def server_version(self) -> int: ...
        @property
        def backend_pid(self) -> int: ...
        @property
        def pooled(self) -> bool: ...

    class Pool:
        @staticmethod
        def create(conninfo: str, min_size: int = 0, max_size: int = 10,
                   acquire_timeout: float = 10.0, max_lifetime: float = 1800.0,
                   max_idle: float = 600.0, connect_timeout: float = 10.0,
                   statement_cache: int = 256) -> "_PgModule.Pool": ...
        def acquire(self, timeout: Optional[float] = None) -> "_PgModule.Connection": ...
        def stats(self) -> dict[str, int]: ...

pg: _PgModule
