"""requests' transport on balrog.http: sessions made while patched get a BalrogAdapter for
http:// and https://, so ``requests.get(...)`` suspends only its greenlet and returns a real
``requests.Response``.

requests keeps doing what it does above the transport — preparing the request, cookies,
redirects (the adapter never follows one), authentication, hooks — and the adapter sends the
prepared request through balrog::http and builds the Response the way requests' HTTPAdapter
does, with the same exceptions (ConnectTimeout, ReadTimeout, SSLError, ConnectionError).
"""

from __future__ import annotations

import http.client
import io
import os
from typing import Any, Iterator, Optional

from ._registry import mark, replace

try:
    import requests
    import requests.adapters
    import requests.sessions
    from requests import exceptions as rexc
    from requests.structures import CaseInsensitiveDict
except ImportError:  # requests is not installed: nothing to patch
    requests = None  # type: ignore[assignment]


def _timeouts(timeout: Any) -> tuple[float, float]:
    """requests' timeout= (None, seconds, (connect, read), urllib3's Timeout) as (connect,
    read) seconds, 0 for no limit."""
    if timeout is None:
        return 0.0, 0.0
    if isinstance(timeout, tuple):
        try:
            connect, read = timeout
        except ValueError:
            raise ValueError(f"Invalid timeout {timeout}. Pass a (connect, read) timeout tuple, "
                             f"or a single float to set both timeouts to the same value.")
    elif hasattr(timeout, "connect_timeout"):  # urllib3.util.Timeout
        connect, read = timeout.connect_timeout, timeout.read_timeout
        connect = None if not isinstance(connect, (int, float)) else connect
        read = None if not isinstance(read, (int, float)) else read
    else:
        connect = read = timeout
    return float(connect or 0.0), float(read or 0.0)


class _Raw:
    """What requests.Response.raw is for a balrog response: read()/stream() over the body,
    ``_original_response.msg`` for requests' cookie extraction."""

    def __init__(self, native: Any, request: Any) -> None:
        self._native = native
        self._request = request
        self.status = native.status
        self.reason = native.reason
        self.headers = CaseInsensitiveDict()
        msg = http.client.HTTPMessage()
        for name, value in native.headers:
            self.headers[name] = f"{self.headers[name]}, {value}" if name in self.headers \
                else value
            msg[name] = value
        self.msg = msg
        self._buffer = io.BytesIO(b"" if native.streaming else native.body)
        self._done = not native.streaming
        self.closed = False

    @property
    def _original_response(self) -> "_Raw":
        # Itself, as a property: an attribute would make every response a reference cycle
        # (with its request, cookie jar and locks), left for the cyclic collector.
        return self

    def _next(self) -> Optional[bytes]:
        from ..http import _errors as herr

        try:
            return self._native.next_chunk()  # type: ignore[no-any-return]
        except herr.Timeout as e:  # urllib3's ReadTimeoutError, as iter_content reports it
            raise rexc.ConnectionError(e, request=self._request) from None
        except herr.RequestError as e:  # urllib3's ProtocolError
            raise rexc.ChunkedEncodingError(e, request=self._request) from None

    def stream(self, amt: Optional[int] = 2 ** 16,
               decode_content: bool = True) -> Iterator[bytes]:
        if amt is None:  # pieces as they arrive (iter_content(None))
            rest = self._buffer.read()
            if rest:
                yield rest
            while not self._done:
                piece = self._next()
                if piece is None:
                    self._done = True
                elif piece:
                    yield piece
            return
        while True:
            data = self.read(amt)
            if not data:
                return
            yield data

    def read(self, amt: Optional[int] = None, decode_content: bool = True,
             **_: Any) -> bytes:
        if amt is None:
            out = self._buffer.read()
            while not self._done:
                piece = self._next()
                if piece is None:
                    self._done = True
                else:
                    out += piece
            return out
        out = self._buffer.read(amt)
        while len(out) < amt and not self._done:
            piece = self._next()
            if piece is None:
                self._done = True
                break
            need = amt - len(out)
            out += piece[:need]
            self._buffer = io.BytesIO(piece[need:])
        return out

    def close(self) -> None:
        self.closed = True
        self._native.close()

    def release_conn(self) -> None:
        pass


# The native session every adapter of this process sends with: its settings are the same for
# all (the request's own travel with each request), and it holds no connection (those are the
# thread's multi handle's) nor, without a cookie jar, any state: one per process rather than
# one per requests.post() call. Remade in a forked child.
_shared: Optional[tuple[int, Any]] = None


def _shared_native_session() -> Any:
    global _shared
    pid = os.getpid()
    if _shared is None or _shared[0] != pid:
        from ..http._client import _http

        # No redirects, no cookie jar (requests does both), no size limit, no decoding beyond
        # what urllib3 would do (libcurl decodes what it asked for).
        _shared = (pid, _http.Session(cookies=False, allow_redirects=False,
                                      max_response_bytes=0, connect_timeout=0.0,
                                      idle_timeout=0.0))
    return _shared[1]


if requests is not None:

    class BalrogAdapter(requests.adapters.HTTPAdapter):
        """requests' HTTPAdapter on balrog.http (mounted for http:// and https:// by
        balrog.patch()). max_retries is not applied (requests' default is none)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._session: Any = None  # made at the first send
            self._pool_args: Optional[tuple[Any, ...]] = None
            super().__init__(*args, **kwargs)

        # requests.Session() mounts two adapters (http://, https://) per session, and
        # requests.post() makes a session per call: neither urllib3's pool manager (never used
        # here) nor a native session is made until a request needs it.
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            self._pool_args = (args, kwargs)
            self.__dict__.pop("poolmanager", None)

        def __getattr__(self, name: str) -> Any:
            if name == "poolmanager" and self.__dict__.get("_pool_args") is not None:
                args, kwargs = self._pool_args
                super().init_poolmanager(*args, **kwargs)
                return self.__dict__["poolmanager"]
            raise AttributeError(name)

        def _native_session(self) -> Any:
            if self.__dict__.get("_session") is None:  # (unpickled adapters have none)
                self._session = _shared_native_session()
            return self._session

        def send(self, request: Any, stream: bool = False, timeout: Any = None,
                 verify: Any = True, cert: Any = None, proxies: Any = None) -> Any:
            from ..http import _errors as herr
            from ..http._client import _read_body, _verify_args

            connect, read = _timeouts(timeout)
            headers: list[tuple[str, str]] = []
            has_type = False
            for name, value in request.headers.items():
                if name.lower() == "transfer-encoding":
                    continue  # the whole body is sent with a Content-Length
                has_type = has_type or name.lower() == "content-type"
                headers.append((name, value))
            kw: dict[str, Any] = {}
            if request.body is not None:
                kw["data"] = _read_body(request.body)
                if not has_type:
                    headers.append(("Content-Type", ""))  # requests sends none
            proxy = None
            if proxies:
                scheme = request.url.split(":", 1)[0].lower()
                proxy = proxies.get(scheme) or proxies.get("all")
            kw.update(_verify_args(verify, cert))
            try:
                native = self._native_session().request(
                    request.method, request.url, headers=headers, connect_timeout=connect,
                    idle_timeout=read, proxy=proxy, stream=stream, **kw)
            except herr.ConnectTimeout as e:
                raise rexc.ConnectTimeout(e, request=request) from None
            except herr.Timeout as e:
                raise rexc.ReadTimeout(e, request=request) from None
            except herr.TLSError as e:
                raise rexc.SSLError(e, request=request) from None
            except herr.InvalidURL as e:
                raise rexc.InvalidURL(e, request=request) from None
            except herr.RequestError as e:
                raise rexc.ConnectionError(e, request=request) from None
            return self.build_response(request, _Raw(native, request))

        def close(self) -> None:
            pool = self.__dict__.get("poolmanager")
            if pool is not None:
                pool.clear()
            for proxy in self.proxy_manager.values():
                proxy.clear()


def patch() -> None:
    if requests is None or not mark("requests"):
        return
    replace(requests.sessions, "HTTPAdapter", BalrogAdapter)
    # (requests.adapters.HTTPAdapter stays the original: code that mounts one explicitly gets
    # what it asked for.)
