"""balrog.http's exceptions, modelled on requests' (and raised for balrog::http's C++ errors).

    RequestError (OSError; alias RequestException)
    ├── HTTPError                raise_for_status() on a 4xx / 5xx response (.response)
    ├── ConnectionError          also builtins.ConnectionError: refused, reset, unknown host
    │   ├── TLSError             handshake or certificate verification failed (SSLError)
    │   └── ConnectTimeout       also Timeout: the connection was not up in time
    ├── Timeout                  also builtins.TimeoutError: the request's own time limits
    │   └── ReadTimeout          nothing received for the read (idle) or total timeout
    ├── TooManyRedirects
    ├── InvalidURL               also ValueError: a malformed URL, an unsupported scheme
    ├── BodyTooLarge             the response body exceeded max_response_bytes
    └── JSONDecodeError          also json.JSONDecodeError: json() on a non-JSON body
    WebSocketError (RequestError)
    ├── ConnectionClosed         send/recv on a closed WebSocket (.code, .reason)
    ├── ProtocolError            the peer broke the protocol (.code: the close code sent)
    └── HandshakeError           the server refused the upgrade (.status_code)

An enclosing ``balrog.Timeout`` raises that Timeout (a TimeoutError), not these.
"""

from __future__ import annotations

import builtins
import json
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ._client import Response

__all__ = [
    "BodyTooLarge",
    "ConnectTimeout",
    "ConnectionClosed",
    "ConnectionError",
    "HTTPError",
    "HandshakeError",
    "InvalidURL",
    "JSONDecodeError",
    "ProtocolError",
    "ReadTimeout",
    "RequestError",
    "RequestException",
    "SSLError",
    "TLSError",
    "Timeout",
    "TooManyRedirects",
    "WebSocketError",
]


class RequestError(OSError):
    """Anything balrog.http raises (requests' RequestException). ``.url``: the URL requested;
    ``.curl_code``: libcurl's CURLcode (0 when balrog found the problem itself)."""

    def __init__(self, *args: Any, url: str = "", curl_code: int = 0,
                 response: "Optional[Response]" = None) -> None:
        super().__init__(*args)
        self.url = url
        self.curl_code = curl_code
        self.response = response

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


RequestException = RequestError


class HTTPError(RequestError):
    """A 4xx or 5xx response, from Response.raise_for_status(); ``.response`` is it."""

    @property
    def status_code(self) -> int:
        return self.response.status_code if self.response is not None else 0


class ConnectionError(RequestError, builtins.ConnectionError):
    """The request could not reach the server or the exchange broke off."""


class TLSError(ConnectionError):
    """The TLS handshake or the certificate's verification failed."""


SSLError = TLSError


class Timeout(RequestError, builtins.TimeoutError):
    """The request's own timeout (connect, read or total) passed."""


class ConnectTimeout(ConnectionError, Timeout):
    """The connection (resolution, TCP, TLS) was not up within the connect timeout."""


class ReadTimeout(Timeout):
    """The server sent nothing for the read timeout, or the total timeout passed."""


class TooManyRedirects(RequestError):
    """More redirects than max_redirects."""


class InvalidURL(RequestError, ValueError):
    """A malformed URL, an unsupported scheme or a bad option."""


class BodyTooLarge(RequestError):
    """The response body was larger than max_response_bytes."""


class JSONDecodeError(RequestError, json.JSONDecodeError):
    """Response.json() on a body that is not JSON."""

    def __init__(self, msg: str, doc: str, pos: int) -> None:
        json.JSONDecodeError.__init__(self, msg, doc, pos)
        self.url = ""
        self.curl_code = 0
        self.response = None

    def __str__(self) -> str:
        return json.JSONDecodeError.__str__(self)

    def __reduce__(self) -> Any:
        return (type(self), (self.msg, self.doc, self.pos))


class WebSocketError(RequestError):
    """A WebSocket failed."""


class ConnectionClosed(WebSocketError):
    """The WebSocket is closed: ``.code`` and ``.reason`` of the peer's close frame (1006 and
    "" when there was none)."""

    def __init__(self, *args: Any, code: int = 1006, reason: str = "") -> None:
        super().__init__(*args)
        self.code = code
        self.reason = reason


class ProtocolError(WebSocketError):
    """The peer broke the WebSocket protocol; ``.code`` is the close code balrog sent."""

    def __init__(self, *args: Any, code: int = 1002) -> None:
        super().__init__(*args)
        self.code = code


class HandshakeError(WebSocketError):
    """The server answered the upgrade with ``.status_code`` (0: not HTTP at all)."""

    def __init__(self, *args: Any, status_code: int = 0) -> None:
        super().__init__(*args)
        self.status_code = status_code


_KINDS: dict[str, type[RequestError]] = {
    "tls": TLSError,
    "connection": ConnectionError,
    "connect_timeout": ConnectTimeout,
    "timeout": ReadTimeout,
    "invalid": InvalidURL,
    "redirects": TooManyRedirects,
    "too_large": BodyTooLarge,
    "request": RequestError,
    "error": RequestError,
}


def _from_native(kind: str, message: str, code: int, url: str) -> BaseException:
    """The exception for one of balrog::http's (pybridge/src/bindings/http_bindings.cpp)."""
    if kind == "ws_protocol":
        return ProtocolError(message, code=code)
    if kind == "ws_closed":
        return ConnectionClosed(message)
    if kind == "ws_handshake":
        return HandshakeError(message, status_code=code)
    return _KINDS.get(kind, RequestError)(message, url=url, curl_code=code)
