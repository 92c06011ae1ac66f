"""balrog.ws: a WebSocket endpoint in balrog.wsgi's server, and sending to its clients from
any view.

    balrog-wsgi project.wsgi:application --bind 127.0.0.1:8000 --ws /ws

    # the page:   new WebSocket(`ws://${location.host}/ws`)   (the balrog_ws cookie is sent)
    # any view:
    from balrog.ws import get_ws_connection
    get_ws_connection(request).send("Order #7 will be delivered in 20 minutes.")

A client is known by a key: the value of the cookie named ``key_name`` ("balrog_ws"), or,
without that cookie, of the query parameter of that name (``/ws?balrog_ws=42``). The server
registers each WebSocket connection under its key in the C++ hub
(balrog::http::websocket::hub): several connections may share a key (two tabs), and a send
reaches each of them. A connection without a key is closed with 1008.
``get_ws_connection(request)`` takes the key from the HTTP request the same way (a Django
HttpRequest, or a WSGI environ), so a view reaches the browser that made the request.

Sends are written whole, in order per connection, by the connection's own fiber; send()
returns when every connection under the key has the message in its kernel buffer, the
greenlet waiting meanwhile (other requests go on): a client that does not read holds the
sender back for at most the server's write timeout, then is dropped. send() returns how many
connections got the message, 0 when none is connected under the key (that is not an error).

The hub is per process: with ``--workers N`` a view reaches the clients connected to its own
worker only, so run one worker per port when views push to WebSockets.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any, Mapping, Optional, Union
from urllib.parse import parse_qs

from . import _native

__all__ = ["Connection", "KEY_NAME", "broadcast", "connection", "get_ws_connection",
           "key_of", "key_name"]

KEY_NAME = "balrog_ws"
# The cookie / query parameter naming a client; balrog.wsgi.Server(websocket_key=...) (the
# --ws-key option) sets it, so the endpoint and get_ws_connection() agree.
key_name = KEY_NAME


class Connection:
    """The WebSocket client(s) known by one key. Cheap: no lookup until a call."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def send(self, message: Union[str, bytes]) -> int:
        """Sends a text (str) or binary (bytes) message to every connection under the key;
        returns how many got it."""
        if not self.key:
            return 0
        if isinstance(message, str):
            return _native.ws_send(self.key, message)
        if isinstance(message, (bytes, bytearray, memoryview)):
            return _native.ws_send_binary(self.key, bytes(message))
        raise TypeError(f"send() takes str or bytes, not {type(message).__name__}")

    def close(self, code: int = 1000, reason: str = "") -> int:
        """Runs the close handshake with every connection under the key; returns how many."""
        return _native.ws_close(self.key, code, reason) if self.key else 0

    @property
    def connected(self) -> int:
        """How many connections are open under the key now."""
        return _native.ws_count(self.key) if self.key else 0

    def __bool__(self) -> bool:
        return bool(self.key)

    def __repr__(self) -> str:
        return f"<balrog.ws.Connection key={self.key!r}>"


def key_of(request: Any, name: Optional[str] = None) -> str:
    """A request's client key: cookie `name` (key_name by default), else query parameter
    `name`; "" when neither. `request` is a Django HttpRequest (or anything with COOKIES and
    GET mappings) or a WSGI environ."""
    name = name or key_name
    cookies: Optional[Mapping[str, str]] = getattr(request, "COOKIES", None)
    query: Optional[Mapping[str, Any]] = getattr(request, "GET", None)
    if cookies is None and isinstance(request, Mapping):  # a WSGI environ
        jar: "SimpleCookie[str]" = SimpleCookie()
        try:
            jar.load(request.get("HTTP_COOKIE", ""))
        except Exception:
            pass
        cookies = {k: m.value for k, m in jar.items()}
        query = {k: v[-1] for k, v in parse_qs(request.get("QUERY_STRING", "")).items()}
    if cookies is None and query is None:
        raise TypeError(f"cannot find a client key in a {type(request).__name__}")
    key = (cookies or {}).get(name) or (query or {}).get(name) or ""
    return str(key)


def get_ws_connection(request: Any, name: Optional[str] = None) -> Connection:
    """The WebSocket client of the browser that made `request` (see key_of)."""
    return Connection(key_of(request, name))


def connection(key: str) -> Connection:
    """The WebSocket client(s) registered under `key`."""
    return Connection(str(key))


def broadcast(message: str) -> int:
    """Sends a text message to every connected client; returns how many got it."""
    return _native.ws_broadcast(message)


def clients() -> int:
    """How many WebSocket clients are connected to this process."""
    return _native.ws_size()
