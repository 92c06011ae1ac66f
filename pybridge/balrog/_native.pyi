"""Type stubs for balrog._native, the native half of the package (pybridge/src/bindings/).

Applications use the pure-Python API (balrog, balrog.pg); these are its building blocks.
"""

from typing import Any, Callable, Optional, Sequence

import greenlet

class CancelledError(Exception):
    """A C++ operation was cancelled by C++ code (balrog::cancelled)."""

class Hub:
    """One thread's hub: the greenlet that drives the thread's balrog event loop.

    Made by balrog.get_hub(); one per thread (a second one raises RuntimeError).
    """

    def __init__(self) -> None: ...
    @property
    def greenlet(self) -> greenlet.greenlet:
        """The hub greenlet (the parent of every balrog.Greenlet)."""
    @property
    def main(self) -> greenlet.greenlet:
        """The thread's root greenlet (Ctrl-C and SystemExit are raised there)."""
    def spawn(self, g: greenlet.greenlet) -> None:
        """Starts `g` (a greenlet whose parent is the hub) in the hub's next round."""
    def yield_(self) -> None:
        """Lets every other ready greenlet run and the loop take a turn."""
    def sleep(self, seconds: float) -> None:
        """Suspends the calling greenlet; a non-positive `seconds` yields."""
    def throw(self, g: greenlet.greenlet, exc: BaseException) -> None:
        """Raises `exc` in `g` at its current wait, or its next one; at once in the caller."""
    def cancel_throw(self, greenlet: greenlet.greenlet,
                     exc: Optional[BaseException] = None) -> None:
        """Drops a throw into `greenlet` not yet delivered (only `exc`, if given)."""
    def wait_fd(self, fd: int, write: bool, timeout: Optional[float] = None) -> bool:
        """Waits until `fd` is readable (writable); False when `timeout` seconds passed first.

        Raises OSError for a bad fd. Regular files are always ready.
        """
    def abandon_after_fork(self) -> None:
        """In a forked child: forgets this hub without running anything of it."""
    def fileno(self) -> int:
        """The event loop's epoll fd (readable when balrog has I/O to process)."""
    @property
    def native_alive(self) -> int:
        """C++ fibers and tasks alive on the loop."""
    error_handler: Optional[Callable[[greenlet.greenlet, BaseException], None]]

class Waiter:
    """One wait of the greenlet that makes it (made claimable at once: publish it, then wait).

    wake() may be called from any thread; the first wake (or the timeout) wins.
    """

    def __init__(self) -> None: ...
    def wait(self, timeout: Optional[float] = None) -> bool:
        """Switches to the hub until woken (True) or `timeout` seconds passed (False)."""
    def wake(self) -> bool:
        """Wakes the waiting greenlet; False if it was already woken or no longer waits."""
    def throw(self, exc: BaseException) -> bool:
        """Wakes it with `exc` raised by its wait()."""
    @property
    def waiting(self) -> bool: ...

class Timer:
    """Raises `exc` in `greenlet` after `seconds` (balrog.Timeout), unless cancelled first."""

    def __init__(self, seconds: float, greenlet: greenlet.greenlet, exc: BaseException) -> None: ...
    def cancel(self) -> None:
        """Disarms it, and drops its throw if it fired but was not delivered yet."""
    @property
    def pending(self) -> bool: ...

def get_hub_or_none() -> Optional[Hub]: ...

class _PgModule:
    """balrog::pg for balrog.pg (the DB-API face is balrog/pg/)."""

    class Result:
        def __len__(self) -> int: ...
        def fetch(self, start: int, count: int) -> list[tuple[Any, ...]]: ...
        def row(self, i: int) -> tuple[Any, ...]: ...
        def columns(self) -> list[tuple[str, int, int, int]]:
            """(name, type OID, internal size, type modifier) per column."""
        @property
        def command_tag(self) -> str: ...
        @property
        def rows_affected(self) -> int: ...
        @property
        def has_rows(self) -> bool: ...

    class Connection:
        @staticmethod
        def connect(conninfo: str, timeout: float = 10.0, statement_cache: int = 256,
                    pipeline: bool = True) -> "_PgModule.Connection": ...
        def query(self, sql: str, params: Sequence[Any]) -> "_PgModule.Result": ...
        def execute_script(self, sql: str) -> None: ...
        def begin(self, isolation: str = "", read_only: bool = False) -> None: ...
        def commit(self) -> None: ...
        def rollback(self) -> None: ...
        @property
        def in_transaction(self) -> bool: ...
        def cancel(self) -> None: ...
        def wait_notification(
            self, timeout: Optional[float] = None) -> Optional[tuple[str, str, int]]: ...
        def discard(self) -> None: ...
        def close(self) -> None: ...
        @property
        def closed(self) -> bool: ...
        @property
        def server_version(self) -> int: ...
        @property
        def backend_pid(self) -> int: ...
        @property
        def pooled(self) -> bool: ...

    class Pool:
        @staticmethod
        def create(conninfo: str, min_size: int = 0, max_size: int = 10,
                   acquire_timeout: float = 10.0, max_lifetime: float = 1800.0,
                   max_idle: float = 600.0, connect_timeout: float = 10.0,
                   statement_cache: int = 256) -> "_PgModule.Pool": ...
        def acquire(self, timeout: Optional[float] = None) -> "_PgModule.Connection": ...
        def stats(self) -> dict[str, int]: ...

pg: _PgModule

class _HttpModule:
    """balrog::http for balrog.http (the requests-like face is balrog/http/). Timeouts are
    seconds, 0 for no limit; requests run as tasks, WebSocket operations on fibers, of the
    thread's loop while the calling greenlet waits. Errors: balrog.http's exceptions."""

    class Response:
        @property
        def status(self) -> int: ...
        @property
        def reason(self) -> str: ...
        @property
        def headers(self) -> list[tuple[str, str]]:
            """In the order they came, as the server spelled them (Latin-1)."""
        @property
        def body(self) -> bytes:
            """The body kept so far (empty for a streaming response until read_all())."""
        @property
        def url(self) -> str: ...
        @property
        def redirect_count(self) -> int: ...
        @property
        def http_version(self) -> str: ...
        @property
        def elapsed(self) -> float: ...
        @property
        def streaming(self) -> bool:
            """A stream=True response whose body was not read to its end."""
        def next_chunk(self) -> Optional[bytes]:
            """The next piece of the body, None at its end."""
        def read_all(self) -> None:
            """Reads the rest of the body into `body`."""
        def close(self) -> None:
            """Abandons a streaming transfer."""

    class Session:
        def __init__(self, *, base_url: str = "", headers: Sequence[tuple[str, str]] = ...,
                     timeout: float = 0.0, connect_timeout: float = 10.0,
                     idle_timeout: float = 60.0, allow_redirects: bool = True,
                     max_redirects: int = 30, verify: bool = True, ca_file: str = "",
                     ca_path: str = "", proxy: str = "", max_response_bytes: int = ...,
                     decompress: bool = True, user_agent: str = "balrog-http/0.1",
                     cookies: bool = True) -> None: ...
        def request(self, method: str, url: str, *,
                    params: Sequence[tuple[str, str]] = ...,
                    headers: Sequence[tuple[str, str]] = ...,
                    cookies: Sequence[tuple[str, str]] = ...,
                    data: Optional[bytes] = None,
                    form: Optional[Sequence[tuple[str, str]]] = None,
                    multipart: Optional[Sequence[tuple[str, bytes, str, str]]] = None,
                    timeout: Optional[float] = None, connect_timeout: Optional[float] = None,
                    idle_timeout: Optional[float] = None,
                    allow_redirects: Optional[bool] = None,
                    max_redirects: Optional[int] = None, verify: Optional[bool] = None,
                    ca_file: str = "", ca_path: str = "", cert_file: str = "",
                    key_file: str = "", proxy: Optional[str] = None,
                    stream: bool = False) -> "_HttpModule.Response":
            """Sends one request; None takes the session's setting."""
        def cookies(self) -> list[tuple[str, str, str, str, bool, float]]:
            """(name, value, domain, path, secure, expires) of the jar's cookies."""
        def set_cookie(self, name: str, value: str, domain: str, path: str = "/",
                       secure: bool = False) -> None: ...
        def clear_cookies(self) -> None: ...

    class WebSocket:
        @staticmethod
        def connect(url: str, *, headers: Sequence[tuple[str, str]] = ...,
                    subprotocol: str = "", max_message_bytes: int = 1048576,
                    ping_interval: float = 20.0, idle_timeout: float = 60.0,
                    handshake_timeout: float = 10.0, close_timeout: float = 5.0,
                    permessage_deflate: bool = False) -> "_HttpModule.WebSocket": ...
        def receive(self, timeout: Optional[float] = None) -> Optional[Any]:
            """The next message (str or bytes), None once closed by a close handshake."""
        def send_text(self, text: str) -> None: ...
        def send_binary(self, data: bytes) -> None: ...
        def ping(self, payload: bytes) -> None: ...
        def close(self, code: int = 1000, reason: str = "") -> None: ...
        @property
        def open(self) -> bool: ...
        @property
        def peer_close(self) -> Optional[tuple[int, str]]: ...
        @property
        def subprotocol(self) -> str: ...

http: _HttpModule


# balrog.wsgi's native half (pybridge/src/bindings/wsgi_bindings.cpp).
class WsgiExchange:
    """One request handed from the HTTP server's fiber to the hub, and its answer."""
    @property
    def method(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def path(self) -> str:
        """Still percent-encoded."""
    @property
    def query(self) -> str: ...
    @property
    def version(self) -> int:
        """10 or 11."""
    @property
    def headers(self) -> list[tuple[str, str]]:
        """Latin-1 decoded, in the request's order."""
    def take_body(self) -> bytes:
        """The whole body (once: the exchange lets go of it)."""
    def environ(self, base: dict[str, Any], script_name: str,
                make_input: Callable[[bytes], Any]) -> dict[str, Any]:
        """The PEP 3333 environ: a copy of base plus the request's keys and header fields,
        wsgi.input = make_input(body) (the body taken, as take_body does)."""
    @property
    def remote_address(self) -> str: ...
    @property
    def remote_port(self) -> int: ...
    @property
    def hung_up(self) -> bool:
        """The client went away, or the body will not be sent (HEAD, a bodiless status)."""
    @property
    def answered(self) -> bool: ...
    def respond(self, status: int, reason: str, headers: list[tuple[str, str]],
                body: bytes) -> None:
        """A whole answer (the server sets Content-Length)."""
    def stream(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
        """Starts a streamed answer: write() each block, then finish() or abort()."""
    def sendfile(self, status: int, reason: str, headers: list[tuple[str, str]], fd: int,
                 offset: int, length: int) -> None:
        """Answers a part of a regular file with sendfile(2) (fd is duplicated)."""
    def write(self, data: bytes) -> None:
        """Queues a block; waits while the client is behind; ConnectionResetError once it
        has gone."""
    def finish(self) -> None: ...
    def abort(self) -> None:
        """The answer failed: a 500 if nothing was sent yet, else the connection is dropped."""

class WsgiServer:
    def __init__(self, dispatch: Callable[[WsgiExchange], None],
                 options: dict[str, Any]) -> None:
        """dispatch runs in the hub for each request (it must not wait)."""
    def listen(self, where: str) -> int:
        """Starts serving on "host:port"; returns the port."""
    def shutdown(self, grace: Optional[float] = None) -> None: ...
    def wait(self) -> None: ...
    @property
    def open_connections(self) -> int: ...

# balrog.ws: the process-wide WebSocket hub (ws_bindings.cpp). Sends wait (the hub serving)
# until every connection under the key has the message in its kernel buffer.
def ws_send(key: str, text: str) -> int: ...
def ws_send_binary(key: str, data: bytes) -> int: ...
def ws_broadcast(text: str) -> int: ...
def ws_close(key: str, code: int = 1000, reason: str = "") -> int: ...
def ws_count(key: str) -> int: ...
def ws_size() -> int: ...
