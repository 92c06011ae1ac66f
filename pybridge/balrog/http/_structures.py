"""A case-insensitive mapping for HTTP headers (requests' CaseInsensitiveDict)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, MutableMapping, Optional, Union

HeaderInput = Union[Mapping[str, Any], Iterable[tuple[str, Any]], None]


class CaseInsensitiveDict(MutableMapping[str, str]):
    """Header names compare case-insensitively and keep the spelling last set:
    ``r.headers["content-type"] == r.headers["Content-Type"]``."""

    def __init__(self, data: HeaderInput = None, **kwargs: str) -> None:
        self._store: dict[str, tuple[str, str]] = {}
        self.update(data or {}, **kwargs)

    def __setitem__(self, key: str, value: str) -> None:
        self._store[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> str:
        return self._store[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._store[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def lower_items(self) -> Iterator[tuple[str, str]]:
        return ((k, v[1]) for k, v in self._store.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.lower_items()) == dict(CaseInsensitiveDict(other).lower_items())

    def copy(self) -> "CaseInsensitiveDict":
        return CaseInsensitiveDict(self._store.values())

    def __repr__(self) -> str:
        return str(dict(self.items()))


def header_items(headers: HeaderInput) -> list[tuple[str, Optional[Any]]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)
