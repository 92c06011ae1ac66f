"""balrog.wsgi: PEP 3333 on balrog's HTTP server, a greenlet per request (docs/python.md).

The server runs in this thread's hub; clients run on helper threads (balrog.run_in_thread),
so the main greenlet waits in the hub while the server answers them."""

import concurrent.futures
import hashlib
import http.client
import io
import os
import socket
import sys
import time
import warnings
from wsgiref.validate import validator

import pytest

import balrog
from balrog.wsgi import Server


@pytest.fixture
def serve():
    servers = []

    def start(app, **options):
        server = Server(app, "127.0.0.1:0", **options)
        server.listen()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def on_thread(fn, *args):
    return balrog.run_in_thread(fn, *args)


def request(port, method="GET", path="/", body=None, headers=None, timeout=10):
    def go():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    return on_thread(go)


# --- compliance -----------------------------------------------------------------------------


def echo_app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    info = (f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {environ['QUERY_STRING']} "
            f"{environ.get('CONTENT_TYPE', '')} {environ.get('HTTP_X_THING', '')} "
            f"{environ['SERVER_PROTOCOL']} {len(body)}\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Echo", "yes"),
                              ("X-Latin", "caf\u00e9")])
    return [info, body]


def test_validated_app_get_and_post(serve):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # wsgiref.validate's WSGIWarning fails the test
        server = serve(validator(echo_app))
        status, headers, body = request(server.port, path="/a%20b/c?x=1&y=%2F",
                                        headers={"X-Thing": "t1"})
        assert status == 200, body
        assert headers["X-Echo"] == "yes"
        assert headers["X-Latin"] == "caf\u00e9"  # sent as the latin-1 byte 0xE9
        assert body == b"GET /a b/c x=1&y=%2F  t1 HTTP/1.1 0\n"
        status, _, body = request(server.port, "POST", "/post", body=b"hello world",
                                  headers={"Content-Type": "application/x-thing"})
        assert status == 200
        assert body == b"POST /post  application/x-thing  HTTP/1.1 11\nhello world"


def test_validated_environ_is_complete(serve):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    server = serve(validator(app))
    status, _, _ = request(server.port, path="/p?q", headers={"X-A": "1"})
    assert status == 204
    for key in ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
                "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "wsgi.version",
                "wsgi.url_scheme", "wsgi.input", "wsgi.errors", "wsgi.multithread",
                "wsgi.multiprocess", "wsgi.run_once", "wsgi.file_wrapper"):
        assert key in seen, key
    assert seen["SERVER_PORT"] == str(server.port)
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    assert seen["HTTP_X_A"] == "1"
    assert seen["HTTP_HOST"] == f"127.0.0.1:{server.port}"
    assert seen["wsgi.version"] == (1, 0)


def test_environ_path_script_name_and_repeated_or_underscored_fields(serve):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    server = serve(app, script_name="/app")

    def raw(target, fields):
        def go():
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n{fields}Connection: close"
                          "\r\n\r\n".encode("latin-1"))
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data

        return on_thread(go)

    assert raw("/app/a%2Fb%20c%zz%4?x=%41", "X-Rep: 1\r\nX-Rep: 2\r\nX_Under: u\r\n"
               "Content-Length: 0\r\n").startswith(b"HTTP/1.1 204")
    # %XX decoded (an invalid escape left as it is), SCRIPT_NAME stripped, the query as sent
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/app", "/a/b c%zz%4")
    assert seen["QUERY_STRING"] == "x=%41"
    assert seen["RAW_URI"] == seen["REQUEST_URI"] == "/app/a%2Fb%20c%zz%4?x=%41"
    assert seen["HTTP_X_REP"] == "1,2"  # repeated fields joined
    assert not any("UNDER" in k for k in seen)  # X_Under would pass for X-Under: dropped
    assert seen["CONTENT_LENGTH"] == "0" and "HTTP_CONTENT_LENGTH" not in seen
    assert seen["wsgi.input"].read() == b""
    seen.clear()
    assert raw("/app", "").startswith(b"HTTP/1.1 204")
    assert seen["PATH_INFO"] == "" and "CONTENT_LENGTH" not in seen
    seen.clear()
    assert raw("/application", "").startswith(b"HTTP/1.1 204")
    assert seen["PATH_INFO"] == "/application"  # not under /app


def test_write_callable_and_close_called(serve):
    closed = []

    class Result:
        def __iter__(self):
            yield b"-iterated"

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written")
        return Result()

    server = serve(validator(app))
    status, headers, body = request(server.port)
    assert (status, body) == (200, b"written-iterated")
    assert headers.get("Transfer-Encoding") == "chunked"
    assert closed == [True]


def test_exc_info_replaces_the_status_before_the_body(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("late")
        except ValueError:
            start_response("503 Busy", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"busy"]

    server = serve(validator(app))
    assert request(server.port)[::2] == (503, b"busy")


def test_exc_info_after_the_header_reraises_and_drops_the_connection(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first"
        try:
            raise ValueError("mid-body")
        except ValueError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        yield b"never"

    server = serve(app)
    with pytest.raises(http.client.IncompleteRead):
        request(server.port, path="/")


def test_start_response_twice_without_exc_info_is_an_error(serve):
    def app(environ, start_response):
        start_response("200 OK", [])
        start_response("200 OK", [])
        return [b"x"]

    server = serve(app)
    assert request(server.port)[0] == 500


# --- responses ------------------------------------------------------------------------------


def test_streaming_sends_each_block_as_it_comes(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        for i in range(3):
            yield f"tick {i}\n".encode()
            balrog.sleep(0.3)

    server = serve(app)

    def client():
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        c.request("GET", "/")
        r = c.getresponse()
        t0 = time.monotonic()
        first = r.readline()  # the first block arrives before the generator goes on
        arrived = time.monotonic() - t0
        rest = r.read()
        c.close()
        return r.getheader("Transfer-Encoding"), first, arrived, rest

    te, first, arrived, rest = on_thread(client)
    assert te == "chunked"
    assert first == b"tick 0\n"
    assert arrived < 0.25
    assert b"tick 2" in rest


def test_large_request_and_response_bodies(serve):
    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        digest = hashlib.sha256(body).hexdigest().encode()
        n = int(environ["QUERY_STRING"] or 0)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        if environ["PATH_INFO"] == "/stream":
            return (bytes([i % 251]) * 65536 for i in range(n))
        return [digest, b"\n", b"z" * n]

    server = serve(app, max_body_bytes=4 << 20)
    payload = os.urandom(3 << 20)
    status, _, body = request(server.port, "POST", "/?5000000", body=payload)
    assert status == 200
    digest, _, rest = body.partition(b"\n")
    assert digest == hashlib.sha256(payload).hexdigest().encode()
    assert rest == b"z" * 5000000
    # 128 blocks of 64 KiB streamed: more than the chunk queue holds, so the greenlet waits
    # for the client (back-pressure) and every byte still arrives in order.
    status, headers, body = request(server.port, "GET", "/stream?128")
    assert status == 200 and headers["Transfer-Encoding"] == "chunked"
    assert body == b"".join(bytes([i % 251]) * 65536 for i in range(128))


def test_body_over_the_limit_is_413_without_the_app(serve):
    calls = []

    def app(environ, start_response):
        calls.append(1)
        start_response("200 OK", [])
        return [b""]

    server = serve(app, max_body_bytes=1000)
    status, _, _ = request(server.port, "POST", "/", body=b"x" * 1001)
    assert status == 413 and not calls
    assert request(server.port, "POST", "/", body=b"x" * 1000)[0] == 200


def test_keep_alive_serves_requests_on_one_connection(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["REMOTE_PORT"].encode()]

    server = serve(app)

    def client():
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        ports = []
        for _ in range(5):
            c.request("GET", "/")
            r = c.getresponse()
            ports.append(r.read())
        c.close()
        return ports

    ports = on_thread(client)
    assert len(set(ports)) == 1


def test_pipelined_requests_are_answered_in_order(serve):
    def app(environ, start_response):
        balrog.sleep(0.05 if environ["PATH_INFO"] == "/1" else 0)  # the first finishes last
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    server = serve(app)

    def client():
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in (1, 2, 3)))
        got = b""
        while got.count(b"HTTP/1.1 200") < 3 or not got.endswith(b"/3"):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        s.close()
        return got

    got = on_thread(client)
    assert [got.index(b"\r\n\r\n/%d" % i) for i in (1, 2, 3)] == sorted(
        got.index(b"\r\n\r\n/%d" % i) for i in (1, 2, 3))


def test_head_reports_the_get_headers_without_a_body(serve):
    methods = []

    def app(environ, start_response):
        methods.append(environ["REQUEST_METHOD"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"0123456789"]

    server = serve(app)  # not validated: wsgiref.validate hides the list behind an iterator

    def client():
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        c.request("HEAD", "/")
        r = c.getresponse()
        head = (r.status, r.getheader("Content-Length"), r.read())
        c.request("GET", "/")  # same connection: no stray body bytes in between
        r = c.getresponse()
        get = (r.status, r.read())
        c.close()
        return head, get

    head, get = on_thread(client)
    assert head == (200, "10", b"")
    assert get == (200, b"0123456789")
    assert methods == ["HEAD", "GET"]


def test_an_iterable_with_a_declared_length_is_answered_whole(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "11")])
        yield b"hello"
        yield b" world"

    server = serve(validator(app))
    status, headers, body = request(server.port)
    assert (status, body) == (200, b"hello world")
    assert headers["Content-Length"] == "11" and "Transfer-Encoding" not in headers
    status, headers, body = request(server.port, "HEAD")
    assert (status, headers["Content-Length"], body) == (200, "11", b"")


def test_file_wrapper_regular_file_and_file_like(serve, tmp_path):
    data = os.urandom(300_000)
    path = tmp_path / "blob"
    path.write_bytes(data)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        if environ["PATH_INFO"] == "/file":
            f = open(path, "rb")
            f.seek(1000)  # from the current position on
            return environ["wsgi.file_wrapper"](f)
        return environ["wsgi.file_wrapper"](io.BytesIO(data), 8192)

    # Not validated: wsgiref.validate hides the file wrapper behind its own iterator.
    server = serve(app)
    status, headers, body = request(server.port, path="/file")
    # sendfile: a Content-Length answer (a streamed one would be chunked)
    assert status == 200 and headers["Content-Length"] == str(len(data) - 1000)
    assert body == data[1000:]
    status, headers, body = request(server.port, path="/bytesio")
    assert status == 200 and headers.get("Transfer-Encoding") == "chunked"
    assert body == data


# --- failures -------------------------------------------------------------------------------


def test_errors_in_the_app_answer_500_and_the_server_goes_on(serve, capfd):
    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/raise":
            raise RuntimeError("boom in the app")
        if path == "/str":
            start_response("200 OK", [])
            return ["not bytes"]
        if path == "/mid":
            start_response("200 OK", [])
            return (b"x" if i == 0 else 1 / 0 for i in range(2))
        if path == "/no-start":
            return [b"x"]
        start_response("200 OK", [])
        return [b"fine"]

    server = serve(app)
    for path in ("/raise", "/str", "/no-start"):
        assert request(server.port, path=path)[0] == 500, path
    with pytest.raises(http.client.IncompleteRead):
        request(server.port, path="/mid")
    assert request(server.port)[::2] == (200, b"fine")
    assert "boom in the app" in capfd.readouterr().err


def test_slow_clients_are_bounded_by_the_server_timeouts(serve):
    def app(environ, start_response):
        start_response("200 OK", [])
        return [environ["wsgi.input"].read()]

    server = serve(app, header_timeout=0.5, body_timeout=0.5)

    def slow(lines):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        t0 = time.monotonic()
        s.sendall(lines)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        s.close()
        return got, time.monotonic() - t0

    got, took = on_thread(slow, b"GET / HTTP/1.1\r\nHost: x\r\n")  # never ends its header
    assert got.startswith(b"HTTP/1.1 408") and took < 5
    got, took = on_thread(slow, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    assert got.startswith(b"HTTP/1.1 408") and took < 5
    assert request(server.port)[0] == 200


def test_a_client_that_goes_away_mid_stream_ends_the_greenlet(serve):
    done = balrog.Event()

    def app(environ, start_response):
        start_response("200 OK", [])
        if environ["PATH_INFO"] == "/small":
            yield b"small"
            return
        try:
            for _ in range(10_000):
                yield b"y" * 65536
        finally:
            done.set()

    server = serve(app)

    def client():
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(1000)
        s.close()

    on_thread(client)
    assert done.wait(10)
    assert request(server.port, path="/small")[::2] == (200, b"small")


# --- concurrency ------------------------------------------------------------------------------


def test_100_requests_to_a_sleeping_app_run_concurrently(serve):
    def app(environ, start_response):
        balrog.sleep(0.1)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept"]

    server = serve(app)

    def one(_):
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        c.request("GET", "/")
        r = c.getresponse()
        out = (r.status, r.read())
        c.close()
        return out

    def clients():
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
            results = list(pool.map(one, range(100)))
        return results, time.monotonic() - t0

    results, took = on_thread(clients)
    assert results == [(200, b"slept")] * 100
    # A concurrency check, not a benchmark: one at a time would take 10 s.
    assert took < 2.0


def test_graceful_shutdown_finishes_requests_in_flight(serve):
    def app(environ, start_response):
        balrog.sleep(0.5)
        start_response("200 OK", [])
        return [b"finished"]

    server = serve(app)
    g = balrog.spawn(request, server.port)
    balrog.sleep(0.2)
    server.shutdown(5.0)
    assert g.join(10)[::2] == (200, b"finished")
    with pytest.raises(ConnectionRefusedError):
        on_thread(socket.create_connection, ("127.0.0.1", server.port), 5)


def test_close_drops_requests_in_flight_and_their_greenlets_end_quietly(serve, capfd):
    finished = balrog.Event()

    def app(environ, start_response):
        try:
            balrog.sleep(0.3)
            start_response("200 OK", [])
            return [b"too late"]
        finally:
            finished.set()

    server = Server(app, "127.0.0.1:0")
    port = server.listen()

    def attempt():
        try:
            return request(port)
        except (ConnectionError, http.client.HTTPException) as e:
            return e

    g = balrog.spawn(attempt)
    balrog.sleep(0.1)
    server.close()  # grace 0: the request's fiber is cancelled, its connection dropped
    assert isinstance(g.join(10), (ConnectionError, http.client.HTTPException))
    assert finished.wait(5)  # the greenlet ran to its end; its answer went nowhere
    balrog.sleep(0.05)
    assert "Traceback" not in capfd.readouterr().err
    again = serve(app)
    assert request(again.port)[::2] == (200, b"too late")


def test_a_client_that_stops_reading_is_dropped_after_the_write_timeout(serve):
    done = balrog.Event()
    sent = []

    def app(environ, start_response):
        start_response("200 OK", [])
        if environ["PATH_INFO"] == "/small":
            yield b"small"
            return
        try:
            for _ in range(100_000):
                yield b"r" * 65536
                sent.append(1)
        finally:
            done.set()

    server = serve(app, write_timeout=0.5)

    def client():
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        return s  # never reads

    s = on_thread(client)
    try:
        t0 = time.monotonic()
        assert done.wait(15)  # the greenlet was released: its next block failed
        assert time.monotonic() - t0 < 15
        assert len(sent) < 100_000  # it did not produce the whole body into memory
    finally:
        s.close()
    assert request(server.port, path="/small")[::2] == (200, b"small")
