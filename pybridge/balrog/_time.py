"""The clock balrog's timeouts use (time.monotonic, captured before any patching)."""

from time import monotonic

__all__ = ["monotonic"]
