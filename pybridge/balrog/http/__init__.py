"""balrog.http: a requests-like HTTP client and a WebSocket client for greenlets.

    from balrog import http

    r = http.get("https://api.example.org/items", params={"q": "balrog"}, timeout=5)
    r.raise_for_status()
    items = r.json()

    with http.Session(base_url="https://api.example.org/v1/",
                      headers={"Authorization": "Bearer ..."}) as api:
        api.post("orders", json={"qty": 2})

    ws = http.websocket_connect("ws://127.0.0.1:8765/chat")
    ws.send("hello"); print(ws.recv()); ws.close()

Requests run on balrog::http (libcurl's multi interface on the thread's balrog loop): a call
suspends only its greenlet, so requests of many greenlets are in flight at once. Arguments
follow requests': ``params=``, ``data=`` (a form dict, str, bytes, a file), ``json=``,
``files=``, ``headers=``, ``cookies=``, ``timeout=`` (seconds for connect and read, or
``(connect, read)``; read is the longest silence), ``total_timeout=`` (the whole request),
``allow_redirects=``, ``verify=`` (bool or a CA bundle path), ``cert=``, ``proxy=``,
``stream=``. An enclosing ``balrog.Timeout`` bounds a request too. See docs/python.md.
"""

from __future__ import annotations

from ._client import Response, Session, delete, get, head, patch, post, put, request
from ._errors import (BodyTooLarge, ConnectionClosed, ConnectionError, ConnectTimeout,
                      HandshakeError, HTTPError, InvalidURL, JSONDecodeError, ProtocolError,
                      ReadTimeout, RequestError, RequestException, SSLError, Timeout, TLSError,
                      TooManyRedirects, WebSocketError)
from ._structures import CaseInsensitiveDict
from ._websocket import WebSocket, websocket_connect

__all__ = [
    "BodyTooLarge",
    "CaseInsensitiveDict",
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
    "Response",
    "SSLError",
    "Session",
    "TLSError",
    "Timeout",
    "TooManyRedirects",
    "WebSocket",
    "WebSocketError",
    "delete",
    "get",
    "head",
    "patch",
    "post",
    "put",
    "request",
    "websocket_connect",
]
