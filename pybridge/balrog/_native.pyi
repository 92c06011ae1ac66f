"""Type stubs for balrog._native, the native half of the package (pybridge/src/bindings/).

Applications use the pure-Python API (balrog, balrog.pg); these are its building blocks.
"""

from typing import Callable, Optional

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
    def cancel_throw(self, greenlet: greenlet.greenlet, exc: Optional[BaseException] = None) -> None:
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
