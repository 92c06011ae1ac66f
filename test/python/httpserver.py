"""A loopback HTTP server for the HTTP tests (the stdlib's http.server, a real thread per
connection, so it answers while the test's hub runs; nothing of balrog in it).

Routes:
  /delay?ms=N          "ok" after N ms
  /echo                JSON: method, path, query (pairs), headers, body (text)
  /json                JSON {"name": "ada", "tags": ["a", "b"], "n": 1}
  /status/N            status N, body "status N"
  /redirect?to=URL&code=302   a redirect
  /stream?n=N&ms=M     N chunks "chunk i\n", M ms apart (chunked encoding)
  /set-cookie?name=V   Set-Cookie name=V; Path=/
  /cookies             the Cookie header as text
  /text                "héllo" in ISO-8859-1 with charset, /utf8 without charset
  /hangup              closes the connection without answering
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from contextlib import contextmanager
from typing import Any, Iterator, Optional
from urllib.parse import parse_qsl, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain",
              headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        q = dict(query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = parts.path
        if path == "/delay":
            time.sleep(int(q.get("ms", "100")) / 1000)
            self._send(200, b"ok")
        elif path == "/echo":
            out = {"method": self.command, "path": path, "query": query,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            self._send(200, json.dumps(out).encode(), "application/json")
        elif path == "/json":
            self._send(200, json.dumps({"name": "ada", "tags": ["a", "b"], "n": 1}).encode(),
                       "application/json")
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, b"" if code in (204, 304) else f"status {code}".encode())
        elif path == "/redirect":
            self._send(int(q.get("code", "302")), b"", headers=(("Location", q["to"]),))
        elif path == "/stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(q.get("n", "5"))):
                piece = f"chunk {i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                time.sleep(int(q.get("ms", "0")) / 1000)
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/set-cookie":
            self._send(200, b"set", headers=tuple(
                ("Set-Cookie", f"{k}={v}; Path=/") for k, v in query))
        elif path == "/cookies":
            self._send(200, (self.headers.get("Cookie") or "").encode())
        elif path == "/text":
            self._send(200, "héllo".encode("latin-1"), "text/plain; charset=ISO-8859-1")
        elif path == "/utf8":
            self._send(200, "héllo ✓".encode("utf-8"), "application/octet-stream")
        elif path == "/hangup":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(404, b"not found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _route


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the concurrency tests connect a hundred at once


class LoopbackServer:
    """Started on 127.0.0.1 on a free port; ``url`` is its base ("http://127.0.0.1:PORT").
    With ``tls=(key file, certificate file)`` it speaks HTTPS, and ``url`` is
    "https://localhost:PORT" (the name the test certificate carries)."""

    def __init__(self, tls: Optional[tuple[str, str]] = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[1], tls[0])
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            self.url = f"https://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def refused_url() -> str:
    """A loopback URL nobody listens on (a port just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@contextmanager
def stalled_url() -> Iterator[str]:
    """A loopback URL whose connections are never accepted: a listener with a full accept queue
    (Linux drops further SYNs), so connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fill = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        for c in fill:
            c.close()
        listener.close()
