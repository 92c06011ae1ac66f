"""time.sleep suspends only the calling greenlet."""

from __future__ import annotations

import time as _time

from .._hub import get_hub
from ._registry import mark, original, replace


def patch() -> None:
    if not mark("time"):
        return
    real_sleep = original(_time, "sleep")

    def sleep(secs: float) -> None:
        """time.sleep for greenlets: other greenlets run meanwhile."""
        # The same checks and messages as the real one (TypeError, ValueError).
        if not isinstance(secs, (int, float)) or isinstance(secs, bool):
            try:
                secs = float(secs)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return real_sleep(secs)  # type: ignore[no-any-return]
        if secs < 0 or secs != secs:
            return real_sleep(secs)  # type: ignore[no-any-return]
        get_hub().sleep(secs)

    sleep.__wrapped__ = real_sleep  # type: ignore[attr-defined]
    replace(_time, "sleep", sleep)
