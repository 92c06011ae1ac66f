"""balrog.wsgi: a WSGI server (PEP 3333) on balrog's C++ HTTP server, a greenlet per request.

    from balrog.wsgi import Server

    server = Server(app, "127.0.0.1:8000")
    server.listen()
    server.serve_forever()          # until server.shutdown() (SIGTERM with serve())

The C++ server reads and parses each request on a fiber, within its limits and timeouts; the
request is handed to the hub (Python never runs on a fiber stack), which spawns a greenlet
running the application; the response goes back to the fiber whole, streamed (chunked) or as
a file sent with sendfile(2). The command line, with worker processes: balrog.wsgi.cli
(``balrog-wsgi module:app --bind 127.0.0.1:8000 --workers 4``). See docs/python.md.
"""

from __future__ import annotations

import io
import itertools
import os
import signal
import stat
import sys
import traceback
from types import TracebackType
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Type, Union

from .. import _native
from .._greenlet import spawn

__all__ = ["FileWrapper", "Server", "serve"]

ExcInfo = Tuple[Type[BaseException], BaseException, Optional[TracebackType]]
StartResponse = Callable[..., Callable[[bytes], None]]
Application = Callable[[Dict[str, Any], StartResponse], Iterable[bytes]]

# FileWrapper's default block, for files that cannot go out with sendfile.
_FILE_BLOCK = 64 * 1024
# An iterable result whose Content-Length the application declared, up to this size, is
# gathered and answered whole (with that Content-Length) rather than chunked: Django's
# HttpResponse, for one, is an iterable of one block.
_GATHER_DECLARED = 1 << 20


class FileWrapper:
    """``wsgi.file_wrapper``: a file-like object the server sends with sendfile(2) when it is a
    regular file with a descriptor, and reads in blocks otherwise."""

    def __init__(self, filelike: Any, blksize: int = _FILE_BLOCK) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> "FileWrapper":
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def regular_file(self) -> Optional[Tuple[int, int, int]]:
        """(fd, offset, bytes left) when the file can go out with sendfile, else None."""
        try:
            fd = self.filelike.fileno()
            st = os.fstat(fd)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        try:
            offset = self.filelike.tell()
        except (AttributeError, OSError, io.UnsupportedOperation):
            offset = 0
        return fd, offset, max(0, st.st_size - offset)


class _Exchange:
    """One request's answer: start_response, write() and the result, as PEP 3333 says."""

    __slots__ = ("ex", "head", "status", "headers", "started", "streaming")

    def __init__(self, ex: Any, head: bool) -> None:
        self.ex = ex
        self.head = head
        self.status: Optional[Tuple[int, str]] = None
        self.headers: List[Tuple[str, str]] = []
        self.started = False  # the status line left for the fiber (it cannot change anymore)
        self.streaming = False

    def start_response(self, status: str, headers: List[Tuple[str, str]],
                       exc_info: Optional[ExcInfo] = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.started:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        if not isinstance(status, str):
            raise TypeError(f"status must be a str, not {type(status).__name__}")
        code, _, reason = status.partition(" ")
        if len(code) != 3 or not code.isdigit():
            raise ValueError(f"bad status {status!r}")
        if not isinstance(headers, list):
            raise TypeError("headers must be a list of (name, value) tuples")
        for h in headers:
            if (not isinstance(h, tuple) or len(h) != 2 or not isinstance(h[0], str)
                    or not isinstance(h[1], str)):
                raise TypeError(f"bad header {h!r}: (str, str) tuples only")
            if "\r" in h[1] or "\n" in h[1] or ":" in h[0]:
                raise ValueError(f"bad header {h!r}")
        self.status = (int(code), reason)
        self.headers = headers
        return self.write

    def _start_stream(self) -> None:
        if self.status is None:
            raise AssertionError("write() or a body before start_response")
        self.ex.stream(self.status[0], self.status[1], self.headers)
        self.started = self.streaming = True

    def write(self, data: bytes) -> None:
        """The write() callable start_response returns: sends data before returning."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        if not self.started:
            self._start_stream()
        if data and not self.head:
            self.ex.write(bytes(data))

    def respond_whole(self, body: bytes) -> None:
        if self.status is None:
            raise AssertionError("the application returned without calling start_response")
        self.ex.respond(self.status[0], self.status[1], self.headers, body)
        self.started = True

    def declared_length(self) -> Optional[int]:
        for name, value in self.headers:
            if name.lower() == "content-length" and value.strip().isdigit():
                return int(value)
        return None

    def send(self, result: Iterable[bytes]) -> None:
        if isinstance(result, FileWrapper) and not self.started:
            part = result.regular_file()
            if part is not None:
                fd, offset, left = part
                if self.status is None:
                    raise AssertionError("the application returned without calling "
                                         "start_response")
                declared = self.declared_length()
                length = left if declared is None else min(left, declared)
                self.ex.sendfile(self.status[0], self.status[1], self.headers, fd, offset,
                                 length)
                self.started = True
                return
        if isinstance(result, (list, tuple)) and not self.started:
            for chunk in result:
                if not isinstance(chunk, bytes):
                    raise TypeError(f"the application yielded {type(chunk).__name__}, "
                                    "not bytes")
            self.respond_whole(result[0] if len(result) == 1 else b"".join(result))
            return
        iterator = iter(result)
        # A generator calls start_response on its first step: look at the headers after it.
        first = next(iterator, None)
        if first is None:
            if not self.started:
                self.respond_whole(b"")
            elif self.streaming:
                self.ex.finish()
            return
        declared = self.declared_length() if self.status and not self.started else None
        if declared is not None and declared <= _GATHER_DECLARED:
            gathered: List[bytes] = [_checked(first)]
            size = len(first)
            if size < declared:
                for chunk in iterator:
                    gathered.append(_checked(chunk))
                    size += len(chunk)
                    if size >= declared or self.started:
                        break
            if not self.started:
                self.respond_whole(b"".join(gathered))  # the server frames what there is
                return
            for block in gathered:  # write() was called meanwhile: the answer is a stream
                if block and not self.head:
                    self.ex.write(block)
        else:
            iterator = itertools.chain((first,), iterator)
        for chunk in iterator:
            block = _checked(chunk)
            if not block:
                continue
            if not self.started:
                self._start_stream()
            if not self.head:
                self.ex.write(block)
        if not self.started:
            self.respond_whole(b"")
        elif self.streaming:
            self.ex.finish()


def _checked(chunk: Any) -> bytes:
    if not isinstance(chunk, (bytes, bytearray)):
        raise TypeError(f"the application yielded {type(chunk).__name__}, not bytes")
    return bytes(chunk)


class Server:
    """A WSGI server on one address, serving on this thread's hub.

    Options (the C++ server's, docs/http.md): max_body_bytes (1 MiB: 413 beyond),
    max_header_bytes (16 KiB: 431), max_connections (10,000), header_timeout (10 s: 408),
    body_timeout (30 s: 408), idle_timeout (60 s between kept-alive requests), write_timeout
    (30 s without progress), shutdown_grace (30 s), backlog (1024), reuse_port (False: True
    lets several processes listen on one port), access_log (a file object or descriptor: one
    Common Log Format line per request), server_name ("balrog": the Server header),
    script_name ("": SCRIPT_NAME, stripped from PATH_INFO), multiprocess (wsgi.multiprocess),
    websocket_path (None: a path such as "/ws" where WebSocket clients connect, registered
    under their key for balrog.ws), websocket_key ("balrog_ws": the cookie, else query
    parameter, holding a client's key; balrog.ws.get_ws_connection reads the same name).
    """

    def __init__(self, app: Application, bind: str = "127.0.0.1:8000", *,
                 max_body_bytes: int = 1 << 20, max_header_bytes: int = 16 * 1024,
                 max_connections: int = 10_000, header_timeout: float = 10.0,
                 body_timeout: float = 30.0, idle_timeout: float = 60.0,
                 write_timeout: float = 30.0, shutdown_grace: float = 30.0,
                 backlog: int = 1024, reuse_port: bool = False,
                 access_log: Union[None, int, Any] = None, server_name: str = "balrog",
                 script_name: str = "", multiprocess: bool = False,
                 websocket_path: Optional[str] = None,
                 websocket_key: str = "balrog_ws") -> None:
        self.app = app
        self.bind = bind
        host, _, port = bind.rpartition(":")
        self.host = host.strip("[]") or "0.0.0.0"
        self.port = int(port) if port.isdigit() else 0
        self.script_name = script_name.rstrip("/")
        self.multiprocess = multiprocess
        self.shutdown_grace = shutdown_grace
        log_fd = -1
        if access_log is not None:
            log_fd = access_log if isinstance(access_log, int) else access_log.fileno()
            if not isinstance(access_log, int):
                access_log.flush()
        self._native: Optional[_native.WsgiServer] = _native.WsgiServer(self._dispatch, {
            "max_body_bytes": max_body_bytes, "max_header_bytes": max_header_bytes,
            "max_connections": max_connections, "header_timeout": header_timeout,
            "body_timeout": body_timeout, "idle_timeout": idle_timeout,
            "write_timeout": write_timeout, "shutdown_grace": shutdown_grace,
            "backlog": backlog, "reuse_port": reuse_port, "server_name": server_name,
            "access_log_fd": log_fd,
            "websocket_path": websocket_path or "", "websocket_key": websocket_key,
        })
        if websocket_path:
            from .. import ws

            ws.key_name = websocket_key
        self._base: Dict[str, Any] = {}

    # --- lifecycle -------------------------------------------------------------------------

    def listen(self) -> int:
        """Opens the listening socket and starts serving (in the hub); returns the port."""
        assert self._native is not None, "the server is closed"
        self.port = self._native.listen(self.bind)
        self._base = {
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.port),
            "SCRIPT_NAME": self.script_name,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,  # requests of one process run concurrently
            "wsgi.multiprocess": self.multiprocess,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
            "wsgi.input_terminated": True,
        }
        return self.port

    def serve_forever(self) -> None:
        """Waits (the hub serving meanwhile) until the server has shut down."""
        assert self._native is not None, "the server is closed"
        self._native.wait()

    def shutdown(self, grace: Optional[float] = None) -> None:
        """Stops accepting, lets requests in flight finish for up to `grace` seconds
        (shutdown_grace by default), then returns when every connection is gone."""
        if self._native is not None:
            self._native.shutdown(grace)

    def close(self) -> None:
        """Shuts down at once (requests in flight are cancelled) and frees the server."""
        if self._native is not None:
            self._native.shutdown(0.0)
            self._native = None

    @property
    def open_connections(self) -> int:
        return self._native.open_connections if self._native is not None else 0

    # --- requests ------------------------------------------------------------------------------

    def _dispatch(self, ex: Any) -> None:
        # In the hub (which never waits): the request gets its own greenlet.
        spawn(self._handle, ex)

    def environ(self, ex: Any) -> Dict[str, Any]:
        """The PEP 3333 environ of a request (built by the exchange, in one call: PATH_INFO
        percent-decoded as latin-1 and stripped of SCRIPT_NAME, header fields as HTTP_*, those
        whose names contain '_' dropped since HTTP_X_A from "X_A" would pass for "X-A", as
        nginx does; repeated fields joined with ','; CONTENT_LENGTH the body's size, chunked
        bodies arriving decoded)."""
        return ex.environ(self._base, self.script_name, io.BytesIO)  # type: ignore[no-any-return]

    def _handle(self, ex: Any) -> None:
        try:
            env = self.environ(ex)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            ex.abort()
            return
        answer = _Exchange(ex, env["REQUEST_METHOD"] == "HEAD")
        result: Any = None
        try:
            result = self.app(env, answer.start_response)
            answer.send(result)
        except ConnectionError:
            if not ex.hung_up:
                self._failed(ex, answer)
        except BaseException:
            self._failed(ex, answer)
            if not isinstance(sys.exc_info()[1], Exception):
                raise
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    traceback.print_exc(file=sys.stderr)
            if not ex.answered:
                ex.abort()

    @staticmethod
    def _failed(ex: Any, answer: _Exchange) -> None:
        print("balrog.wsgi: error in the application:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        if not answer.started and not ex.answered:
            ex.respond(500, "Internal Server Error",
                       [("Content-Type", "text/plain; charset=utf-8")],
                       b"Internal Server Error\n")
        else:
            ex.abort()  # the header left: the connection is dropped mid-body


def serve(app: Application, bind: str = "127.0.0.1:8000", *,
          on_listening: Optional[Callable[[Server], None]] = None,
          handle_signals: bool = True, **options: Any) -> None:
    """Serves `app` on `bind` in this thread until the server shuts down. With handle_signals
    (in the main thread), SIGTERM and SIGINT shut it down gracefully: requests in flight
    finish, within shutdown_grace."""
    server = Server(app, bind, **options)
    server.listen()

    def stop(signum: int, frame: Any) -> None:
        spawn(server.shutdown)  # signal handlers run in the hub, which never waits

    previous: Dict[int, Any] = {}
    if handle_signals:
        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        if on_listening is not None:
            on_listening(server)
        server.serve_forever()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        server.close()
