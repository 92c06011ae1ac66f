"""balrog.patch(socket=True): socket, select, selectors and ssl cooperate; each checked next to
the unpatched module's behaviour (results, timeouts, errors)."""

import http.client
import http.server
import os
import select
import selectors
import socket
import ssl
import threading
import time

import pytest

import balrog


@pytest.fixture
def patched():
    balrog.patch(socket=True)
    yield
    balrog.unpatch()


def echo_server():
    """A listening socket and a greenlet echoing on each connection it accepts."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve(conn):
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept_loop():
        while True:
            conn, _ = listener.accept()
            balrog.spawn(serve, conn)

    return listener, balrog.spawn(accept_loop)


def test_echo_between_greenlets(patched):
    listener, acceptor = echo_server()
    port = listener.getsockname()[1]

    def client(i):
        with socket.create_connection(("localhost", port)) as s:
            payload = (b"%d" % i) * 50_000
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                got += s.recv(65536)
            return got == payload

    gs = [balrog.spawn(client, i) for i in range(5)]
    assert [g.join(timeout=10) for g in gs] == [True] * 5
    acceptor.kill()
    listener.close()


def recv_timeout_outcome():
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(0.05)
        assert a.gettimeout() == 0.05
        started = time.monotonic()
        try:
            a.recv(1)
        except Exception as e:  # noqa: BLE001
            return type(e), str(e), time.monotonic() - started < 2


def test_timeouts_match_the_real_socket(patched):
    ours = recv_timeout_outcome()
    balrog.unpatch()
    real = recv_timeout_outcome()
    balrog.patch(socket=True)
    assert ours == real == (TimeoutError, "timed out", True)


def connect_refused_outcome():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = socket.socket()
    try:
        c.connect(("127.0.0.1", port))
    except OSError as e:
        return type(e), e.errno
    finally:
        c.close()


def test_connection_refused_matches_the_real_socket(patched):
    ours = connect_refused_outcome()
    balrog.unpatch()
    real = connect_refused_outcome()
    balrog.patch(socket=True)
    assert ours == real and ours[0] is ConnectionRefusedError


def test_non_blocking_mode_is_untouched(patched):
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        assert a.getblocking() is False
        with pytest.raises(BlockingIOError):
            a.recv(1)


def test_select_poll_and_selectors_wait_cooperatively(patched):
    a, b = socket.socketpair()
    with a, b:
        assert select.select([a], [], [], 0.01) == ([], [], [])
        balrog.spawn(lambda: (time.sleep(0.02), b.send(b"x")))
        ticks = []
        ticker = balrog.spawn(lambda: [ticks.append(time.sleep(0.005)) for _ in range(3)])
        assert select.select([a], [], [], 5) == ([a], [], [])
        ticker.join()
        assert len(ticks) == 3
        a.recv(1)
        p = select.poll()
        p.register(a, select.POLLIN)
        assert p.poll(10) == []
        balrog.spawn(b.send, b"y")
        assert p.poll(5000) == [(a.fileno(), select.POLLIN)]
        a.recv(1)
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ)
            assert sel.select(0.01) == []
            balrog.spawn(b.send, b"z")
            assert [key.fileobj for key, _ in sel.select(5)] == [a]


def test_http_client_against_a_threaded_server(patched):
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"hello " + self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    balrog.unpatch()  # the server runs unpatched, on a real thread
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    balrog.patch(socket=True)
    port = server.server_address[1]

    def get(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", f"/{i}")
        body = c.getresponse().read()
        c.close()
        return body

    try:
        gs = [balrog.spawn(get, i) for i in range(5)]
        assert [g.join(timeout=10) for g in gs] == [b"hello /%d" % i for i in range(5)]
    finally:
        server.shutdown()
        thread.join()
        server.server_close()



def tls_round_trip(certificate, spawn, join):
    """A TLS echo of one line; the server and the client run as spawn() says."""
    key, crt = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(crt, key)
    client_ctx = ssl.create_default_context(cafile=crt)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(tls.recv(100).upper())

    def client():
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"hello tls")
                return tls.recv(100), tls.version()

    s = spawn(serve)
    try:
        return client()
    finally:
        join(s)
        listener.close()


def test_tls_between_greenlets_matches_threads(patched, certificate):
    ours = tls_round_trip(certificate, balrog.spawn, lambda g: g.join(timeout=10))
    balrog.unpatch()

    def thread_spawn(fn):
        t = threading.Thread(target=fn)
        t.start()
        return t

    real = tls_round_trip(certificate, thread_spawn, lambda t: t.join())
    balrog.patch(socket=True)
    assert ours == real and ours[0] == b"HELLO TLS"


def test_tls_handshake_timeout(patched, certificate):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts (in the kernel) but never speaks TLS
    ctx = ssl.create_default_context(cafile=certificate[1])
    raw = socket.create_connection(listener.getsockname(), timeout=0.1)
    with pytest.raises(TimeoutError):
        ctx.wrap_socket(raw, server_hostname="localhost")
    raw.close()
    listener.close()


def test_name_resolution_runs_off_the_hub(patched):
    infos = socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM)
    assert infos and infos[0][4][0].startswith("127.")
    assert os.path.exists("/etc/hosts")
