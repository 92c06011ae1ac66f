"""balrog.http's requests-like client: Session, Response and the module-level functions.

Every request runs as a C++ coroutine task of balrog::http (libcurl's multi interface on the
thread's balrog loop) while the calling greenlet waits; other greenlets run meanwhile, so many
greenlets making requests at once have them in flight together.
"""

from __future__ import annotations

import datetime
import json as _json
import os
from typing import Any, Iterable, Iterator, Mapping, Optional, Union

from .. import _native
from ._errors import HTTPError, JSONDecodeError
from ._structures import CaseInsensitiveDict, HeaderInput, header_items

__all__ = ["Response", "Session", "delete", "get", "head", "patch", "post", "put", "request"]

_http = _native.http

#: ``timeout=`` forms: seconds for both connect and read, ``(connect, read)``, or None (no limit).
TimeoutArg = Union[None, float, tuple[Optional[float], Optional[float]]]
ParamsArg = Union[None, str, Mapping[str, Any], Iterable[tuple[str, Any]]]
DataArg = Any  # dict / pairs (a form), str, bytes, a file object, an iterable of bytes
VerifyArg = Union[bool, str]
CertArg = Union[None, str, tuple[str, str]]


class _Unset:
    def __repr__(self) -> str:
        return "<default>"


_UNSET: Any = _Unset()

_CHUNK = 64 * 1024


def _seconds(value: Optional[float], what: str) -> float:
    """A timeout as the native layer takes it: seconds, 0 for none."""
    if value is None:
        return 0.0
    seconds = float(value)
    if seconds != seconds or seconds < 0:
        raise ValueError(f"balrog.http: {what} must be a non-negative number or None, "
                         f"not {value!r}")
    return seconds


def _timeouts(timeout: Any) -> tuple[Optional[float], Optional[float]]:
    """(connect, read) in seconds (0: no limit), or (None, None) for the session's defaults."""
    if timeout is _UNSET:
        return None, None
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError("balrog.http: timeout must be seconds or (connect, read), "
                             f"not {timeout!r}")
        return (_seconds(timeout[0], "the connect timeout"),
                _seconds(timeout[1], "the read timeout"))
    seconds = _seconds(timeout, "timeout")
    return seconds, seconds


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _pairs(values: Any) -> list[tuple[str, str]]:
    """params= / form data as ordered pairs; a list value repeats its name, None drops it."""
    items = values.items() if isinstance(values, Mapping) else values
    out: list[tuple[str, str]] = []
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out.extend((_text(name), _text(v)) for v in value if v is not None)
        else:
            out.append((_text(name), _text(value)))
    return out


def _read_body(data: Any) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "read"):
        content = data.read()
        return content.encode("utf-8") if isinstance(content, str) else bytes(content)
    return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in data)


def _multipart(files: Any, data: Any) -> list[tuple[str, bytes, str, str]]:
    """requests' files= (plus data= fields) as (name, bytes, filename, content type) parts."""
    parts: list[tuple[str, bytes, str, str]] = []
    if data is not None:
        if isinstance(data, (str, bytes, bytearray, memoryview)) or hasattr(data, "read"):
            raise ValueError("balrog.http: with files=, data= must be form fields")
        parts.extend((name, value.encode("utf-8"), "", "") for name, value in _pairs(data))
    items = files.items() if isinstance(files, Mapping) else files
    for name, value in items:
        filename, content_type = "", ""
        if isinstance(value, tuple):
            filename = value[0] or ""
            content_type = value[2] if len(value) > 2 and value[2] else ""
            value = value[1]
        elif hasattr(value, "name") and isinstance(value.name, str):
            filename = os.path.basename(value.name)
        if not filename:
            filename = name  # requests' rule: a file part always has a filename
        parts.append((name, _read_body(value), filename, content_type))
    return parts


def _verify_args(verify: Any, cert: CertArg) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if verify is not _UNSET:
        if isinstance(verify, str):
            out["verify"] = True
            out["ca_path" if os.path.isdir(verify) else "ca_file"] = verify
        else:
            out["verify"] = bool(verify)
    if cert is not None:
        out["cert_file"], out["key_file"] = (cert, "") if isinstance(cert, str) else cert
    return out


def _charset(content_type: Optional[str]) -> Optional[str]:
    """The charset of a Content-Type (requests' get_encoding_from_headers)."""
    if not content_type:
        return None
    media, *params = [p.strip() for p in content_type.split(";")]
    for p in params:
        key, _, value = p.partition("=")
        if key.strip().lower() == "charset":
            return value.strip(" '\"") or None
    if media.lower().startswith("text/"):
        return "ISO-8859-1"
    if media.lower() == "application/json":
        return "utf-8"
    return None


class Response:
    """What a request got back (requests' Response).

    ``status_code``, ``reason``, ``headers`` (case-insensitive; repeated fields joined with
    ", "), ``url`` (after redirects), ``content`` (bytes), ``text`` (decoded with
    ``encoding``), ``json()``, ``raise_for_status()``, ``ok``. A response made with
    ``stream=True`` has only its headers in when the request returns: read the body with
    ``iter_content()`` / ``iter_lines()`` (or ``content``), in the thread that made it.
    """

    def __init__(self, native: Any, method: str) -> None:
        self._native = native
        self.method = method
        self.status_code: int = native.status
        self.reason: str = native.reason
        self.url: str = native.url
        self.redirect_count: int = native.redirect_count
        self.http_version: str = native.http_version
        self.elapsed = datetime.timedelta(seconds=native.elapsed)
        headers = CaseInsensitiveDict()
        for name, value in native.headers:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
        self.raw_headers: list[tuple[str, str]] = native.headers
        self.encoding: Optional[str] = _charset(headers.get("content-type"))
        self._content: Optional[bytes] = None if native.streaming else native.body
        self._consumed = False

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"

    def __bool__(self) -> bool:
        return self.ok

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ok(self) -> bool:
        """Status below 400."""
        return 0 < self.status_code < 400

    @property
    def is_redirect(self) -> bool:
        return "location" in self.headers and self.status_code in (301, 302, 303, 307, 308)

    def raise_for_status(self) -> None:
        """Raises HTTPError for a 4xx or 5xx status."""
        if 400 <= self.status_code < 600:
            kind = "Client" if self.status_code < 500 else "Server"
            raise HTTPError(f"{self.status_code} {kind} Error: {self.reason} for url: {self.url}",
                            url=self.url, response=self)

    @property
    def content(self) -> bytes:
        """The whole body (for a streaming response: reads the rest of it first)."""
        if self._content is None:
            if self._consumed:
                raise RuntimeError("balrog.http: the content of this response was already "
                                   "consumed by iter_content()")
            self._native.read_all()
            self._content = self._native.body
        return self._content

    @property
    def text(self) -> str:
        """The body decoded with ``encoding`` (UTF-8 when the headers name none)."""
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON; JSONDecodeError (a ValueError) when it is not."""
        body: Union[str, bytes] = self.content
        if self.encoding:
            body = self.content.decode(self.encoding, errors="replace")
        try:
            return _json.loads(body, **kwargs)
        except _json.JSONDecodeError as e:
            raise JSONDecodeError(e.msg, e.doc, e.pos) from None

    def iter_content(self, chunk_size: Optional[int] = 1,
                     decode_unicode: bool = False) -> Iterator[Any]:
        """The body piece by piece: ``chunk_size`` bytes at a time, or as they arrive for None.
        A streaming response reads from the network as the loop goes (each wait lets other
        greenlets run); the body is not kept."""
        if chunk_size is not None and chunk_size <= 0:
            raise ValueError("balrog.http: chunk_size must be positive or None")
        pieces = self._pieces()
        if chunk_size is not None:
            pieces = _rechunk(pieces, chunk_size)
        if decode_unicode:
            import codecs

            decoder = codecs.getincrementaldecoder(self.encoding or "utf-8")(errors="replace")
            for piece in pieces:
                text = decoder.decode(piece)
                if text:
                    yield text
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
            return
        yield from pieces

    def _pieces(self) -> Iterator[bytes]:
        if self._content is not None:
            if self._content:
                yield self._content
            return
        if self._consumed:
            raise RuntimeError("balrog.http: the content of this response was already consumed")
        self._consumed = True
        while True:
            piece = self._native.next_chunk()
            if piece is None:
                return
            if piece:
                yield piece

    def iter_lines(self, chunk_size: Optional[int] = None, decode_unicode: bool = False,
                   delimiter: Optional[bytes] = None) -> Iterator[Any]:
        """The body line by line (without the line ends)."""
        pending = b""
        for piece in self.iter_content(chunk_size):
            pending += piece
            lines = pending.split(delimiter) if delimiter else pending.splitlines(keepends=True)
            if delimiter:
                pending = lines.pop()
            elif lines and not lines[-1].endswith((b"\n", b"\r")):
                pending = lines.pop()
            else:
                pending = b""
            for line in lines:
                yield _line(line, delimiter, decode_unicode, self.encoding)
        if pending:
            yield _line(pending, delimiter, decode_unicode, self.encoding)

    def close(self) -> None:
        """Abandons a streaming body not read to its end (its connection is not reused)."""
        self._native.close()


def _line(line: bytes, delimiter: Optional[bytes], decode: bool, encoding: Optional[str]) -> Any:
    if not delimiter:
        line = line.rstrip(b"\r\n")
    return line.decode(encoding or "utf-8", errors="replace") if decode else line


def _rechunk(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class _Cookies(Mapping[str, str]):
    """A session's cookie jar, name -> value (the last one of a name wins); ``set()`` adds one,
    ``clear()`` empties it, ``list()`` has domain, path, secure and expiry too."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def list(self) -> list[tuple[str, str, str, str, bool, float]]:
        """(name, value, domain, path, secure, expires as a Unix time, 0 for the session)."""
        return list(self._native.cookies())

    def _dict(self) -> dict[str, str]:
        return {c[0]: c[1] for c in self._native.cookies()}

    def __getitem__(self, name: str) -> str:
        return self._dict()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def set(self, name: str, value: str, *, domain: str, path: str = "/",
            secure: bool = False) -> None:
        self._native.set_cookie(name, value, domain, path, secure)

    def clear(self) -> None:
        self._native.clear_cookies()

    def __repr__(self) -> str:
        return f"<cookies {self._dict()!r}>"


class Session:
    """Requests that share settings, connections and a cookie jar (requests' Session)::

        with balrog.http.Session(base_url="https://api.example.org/v1/",
                                 headers={"Authorization": "Bearer ..."}, timeout=10) as api:
            item = api.get("items/7").json()

    ``headers`` (a case-insensitive dict, changeable at any time) go with every request, a
    request's own headers replace them by name (None removes one). ``timeout`` is the default
    ``timeout=``; relative URLs resolve against ``base_url`` (keep its trailing slash).
    Cookies the servers set come back on later requests that match them (``cookies``).
    A session may be shared by every greenlet of every thread; connections are per thread,
    shared by all sessions.
    """

    def __init__(self, base_url: str = "", *, headers: HeaderInput = None,
                 timeout: TimeoutArg = _UNSET, total_timeout: Optional[float] = None,
                 verify: VerifyArg = True, cert: CertArg = None, allow_redirects: bool = True,
                 max_redirects: int = 30, proxy: Optional[str] = None,
                 max_response_bytes: int = 64 << 20, decompress: bool = True,
                 user_agent: str = "balrog-http/0.1", cookies: bool = True) -> None:
        self.headers = CaseInsensitiveDict(header_items(headers))
        self.timeout: TimeoutArg = timeout
        self.total_timeout = total_timeout
        self.verify: VerifyArg = verify
        self.cert = cert
        self.allow_redirects = allow_redirects
        self.max_redirects = max_redirects
        self._native = _http.Session(
            base_url=base_url, proxy=proxy or "", max_response_bytes=max_response_bytes,
            decompress=decompress, user_agent=user_agent, cookies=cookies)
        self.base_url = base_url
        self.cookies = _Cookies(self._native)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (connections belong to the thread); for requests' API."""

    def request(self, method: str, url: str, *, params: ParamsArg = None,
                data: DataArg = None, json: Any = None, headers: HeaderInput = None,
                cookies: Optional[Mapping[str, str]] = None, files: Any = None,
                timeout: TimeoutArg = _UNSET, total_timeout: Any = _UNSET,
                allow_redirects: Optional[bool] = None, max_redirects: Optional[int] = None,
                verify: Any = _UNSET, cert: CertArg = None, proxy: Optional[str] = None,
                stream: bool = False) -> Response:
        """Sends one request and returns its Response (see the module's docstring for each
        argument). Raises ConnectionError, Timeout, TLSError, TooManyRedirects, InvalidURL
        (balrog.http's exceptions), an enclosing balrog.Timeout, or the greenlet's kill."""
        method = method.upper()
        kw: dict[str, Any] = {}
        if params is not None:
            if isinstance(params, (str, bytes)):
                url += ("&" if "?" in url else "?") + _text(params)
            else:
                kw["params"] = _pairs(params)
        merged = self.headers.copy()
        for name, value in header_items(headers):
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = _text(value)
        if cookies:
            kw["cookies"] = _pairs(cookies)
        if files is not None:
            kw["multipart"] = _multipart(files, data)
        elif json is not None and data is None:
            kw["data"] = _json.dumps(json, allow_nan=False).encode("utf-8")
            merged.setdefault("Content-Type", "application/json")
        elif data is not None:
            if isinstance(data, Mapping) or (isinstance(data, list) and data
                                             and isinstance(data[0], tuple)):
                kw["form"] = _pairs(data)
            else:
                kw["data"] = _read_body(data)
        kw["headers"] = list(merged.items())
        connect, read = _timeouts(self.timeout if timeout is _UNSET else timeout)
        if connect is not None:
            kw["connect_timeout"], kw["idle_timeout"] = connect, read
        total = self.total_timeout if total_timeout is _UNSET else total_timeout
        if total is not None:
            kw["timeout"] = _seconds(total, "total_timeout")
        if allow_redirects is None:
            allow_redirects = self.allow_redirects
        kw["allow_redirects"] = allow_redirects
        kw["max_redirects"] = self.max_redirects if max_redirects is None else max_redirects
        kw.update(_verify_args(self.verify if verify is _UNSET else verify,
                               cert if cert is not None else self.cert))
        if proxy is not None:
            kw["proxy"] = proxy
        native = self._native.request(method, url, stream=stream, **kw)
        return Response(native, method)

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Response:
        kwargs.setdefault("allow_redirects", False)  # requests' rule for HEAD
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, data: DataArg = None, json: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: DataArg = None, **kwargs: Any) -> Response:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: DataArg = None, **kwargs: Any) -> Response:
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        return self.request("DELETE", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> Response:
        return self.request("OPTIONS", url, **kwargs)


_default: Optional[Session] = None


def _session() -> Session:
    """The session of the module-level functions: no cookie jar, no default headers."""
    global _default
    if _default is None:
        _default = Session(cookies=False)
    return _default


def request(method: str, url: str, **kwargs: Any) -> Response:
    """One request outside any session (requests.request): see Session.request."""
    return _session().request(method, url, **kwargs)


def get(url: str, params: ParamsArg = None, **kwargs: Any) -> Response:
    return _session().request("GET", url, params=params, **kwargs)


def head(url: str, **kwargs: Any) -> Response:
    return _session().head(url, **kwargs)


def post(url: str, data: DataArg = None, json: Any = None, **kwargs: Any) -> Response:
    return _session().request("POST", url, data=data, json=json, **kwargs)


def put(url: str, data: DataArg = None, **kwargs: Any) -> Response:
    return _session().request("PUT", url, data=data, **kwargs)


def patch(url: str, data: DataArg = None, **kwargs: Any) -> Response:
    return _session().request("PATCH", url, data=data, **kwargs)


def delete(url: str, **kwargs: Any) -> Response:
    return _session().request("DELETE", url, **kwargs)

