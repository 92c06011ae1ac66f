"""balrog.http.websocket_connect: a WebSocket client on balrog::http's (Beast's framing over a
balrog stream). Each operation runs on a fiber of the thread's balrog loop while the calling
greenlet waits."""

from __future__ import annotations

import math
from typing import Any, Iterator, Optional, Union

from .. import _native
from ._errors import ConnectionClosed
from ._structures import HeaderInput, header_items

__all__ = ["WebSocket", "websocket_connect"]

Message = Union[str, bytes]


class WebSocket:
    """An open WebSocket (``websocket_connect``). ``send(str)`` sends a text message,
    ``send(bytes)`` a binary one; ``recv()`` returns the next message (str or bytes) and raises
    ConnectionClosed once the connection is closed; iterating yields messages until a clean
    close. One greenlet receives at a time; any greenlet may send meanwhile."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def __enter__(self) -> "WebSocket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Message]:
        while True:
            message = self._native.receive()
            if message is None:
                return
            yield message

    def send(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        if isinstance(message, str):
            self._native.send_text(message)
        else:
            self._native.send_binary(bytes(message))

    def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message. ``timeout`` (seconds) bounds this wait only: TimeoutError, and the
        connection stays open. ConnectionClosed after a close handshake."""
        message = self._native.receive(timeout)
        if message is None:
            code, reason = self._native.peer_close or (1005, "")
            raise ConnectionClosed(
                f"balrog.http: the WebSocket is closed ({code} {reason})".strip(),
                code=code, reason=reason)
        return message  # type: ignore[no-any-return]

    def ping(self, data: bytes = b"") -> None:
        """Sends a ping (at most 125 bytes); the pong is consumed by recv()."""
        self._native.ping(data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Runs the close handshake (idempotent)."""
        self._native.close(code, reason)

    @property
    def open(self) -> bool:
        return bool(self._native.open)

    @property
    def close_code(self) -> Optional[int]:
        """The code of the peer's close frame, once one came."""
        peer = self._native.peer_close
        return None if peer is None else int(peer[0])

    @property
    def close_reason(self) -> Optional[str]:
        peer = self._native.peer_close
        return None if peer is None else str(peer[1])

    @property
    def subprotocol(self) -> Optional[str]:
        return self._native.subprotocol or None


def websocket_connect(url: str, *, headers: HeaderInput = None,
                      subprotocol: Optional[str] = None, open_timeout: float = 10.0,
                      close_timeout: float = 5.0, ping_interval: Optional[float] = 20.0,
                      idle_timeout: Optional[float] = 60.0, max_size: int = 1 << 20,
                      compression: bool = False) -> WebSocket:
    """Opens a WebSocket to a ``ws://`` or ``wss://`` URL (``wss://`` verifies the server
    against the system CA store; there are no TLS options here). ``open_timeout`` bounds connecting and the upgrade;
    ``ping_interval`` of silence sends a ping, ``idle_timeout`` of it drops the connection
    (None: never); ``max_size`` is the largest message accepted; ``compression`` offers
    permessage-deflate. Raises ConnectionRefusedError (an OSError) and the like for the
    connection, HandshakeError when the server refuses the upgrade, TimeoutError."""
    for name, value in (("open_timeout", open_timeout), ("close_timeout", close_timeout)):
        # The C++ client has no "unbounded" for these: 0 would mean already expired.
        if not (isinstance(value, (int, float)) and 0 < value < math.inf):
            raise ValueError(f"{name} must be a positive, finite number of seconds, "
                             f"not {value!r}")
    native = _native.http.WebSocket.connect(
        url, headers=[(str(k), str(v)) for k, v in header_items(headers) if v is not None],
        subprotocol=subprotocol or "", max_message_bytes=max_size,
        ping_interval=ping_interval or 0.0, idle_timeout=idle_timeout or 0.0,
        handshake_timeout=open_timeout, close_timeout=close_timeout,
        permessage_deflate=compression)
    return WebSocket(native)
