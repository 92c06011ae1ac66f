"""What balrog.patch() replaced, so unpatch() can put it back."""

from __future__ import annotations

from typing import Any, Callable

_MISSING = object()
_originals: dict[tuple[int, str], Any] = {}  # (id(obj), name) -> the original value
_undo: list[Callable[[], None]] = []  # in patching order
_features: set[str] = set()


def replace(obj: Any, name: str, value: Any) -> None:
    """Sets obj.name = value, remembering the first original."""
    key = (id(obj), name)
    if key not in _originals:
        old = getattr(obj, name, _MISSING)
        _originals[key] = old

        def undo() -> None:
            if old is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, old)

        _undo.append(undo)
    setattr(obj, name, value)


def on_unpatch(undo: Callable[[], None]) -> None:
    """Registers how to undo a change that is not an attribute (a library setting)."""
    _undo.append(undo)


def original(obj: Any, name: str) -> Any:
    """The value obj.name had before balrog patched it."""
    return _originals.get((id(obj), name), getattr(obj, name))


def mark(feature: str) -> bool:
    """Records that `feature` is patched; False if it already was."""
    if feature in _features:
        return False
    _features.add(feature)
    return True


def is_patched(feature: str) -> bool:
    """Whether balrog.patch() patched `feature` ("time", "threading", "psycopg2", ...)."""
    return feature in _features


def unpatch() -> None:
    """Puts back everything balrog.patch() replaced (objects made meanwhile keep theirs)."""
    while _undo:
        _undo.pop()()
    _originals.clear()
    _features.clear()
