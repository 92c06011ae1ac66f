"""balrog.http.websocket_connect against Debian's python3-websockets server (its asyncio
implementation, on a loop in a thread of its own)."""

import asyncio
import math
import threading
import time

import pytest
import websockets  # python3-websockets (scripts/bootstrap)

import balrog
from balrog import http

from httpserver import refused_url


class WebSocketServer:
    """/echo echoes every message (text stays text, binary binary); /close closes with 4001
    "bye" after the first message; /greet sends "hello" first and echoes the request's
    X-Name header; /slow answers after 300 ms."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def handler(ws, path):
            if path == "/echo":
                async for message in ws:
                    await ws.send(message)
            elif path == "/close":
                await ws.recv()
                await ws.close(4001, "bye")
            elif path == "/greet":
                await ws.send("hello " + ws.request_headers.get("X-Name", "?"))
                async for message in ws:
                    await ws.send(message)
            elif path == "/slow":
                async for message in ws:
                    await asyncio.sleep(0.3)
                    await ws.send(message)

        async def start():
            self.server = await websockets.serve(handler, "127.0.0.1", 0, max_size=2 ** 22)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        self.url = f"ws://127.0.0.1:{self.port}"

    def close(self) -> None:
        async def stop():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server():
    s = WebSocketServer()
    yield s
    s.close()


def test_text_and_binary_echo(server):
    with http.websocket_connect(server.url + "/echo") as ws:
        assert ws.open
        ws.send("hello ✓")
        assert ws.recv() == "hello ✓"
        ws.send(b"\x00\x01\xff")
        reply = ws.recv()
        assert reply == b"\x00\x01\xff" and isinstance(reply, bytes)
        big = bytes(range(256)) * 4096  # 1 MiB, in many frames
        ws.send(big)
        assert ws.recv() == big
        ws.ping(b"p")
        ws.send("after ping")
        assert ws.recv() == "after ping"
    assert not ws.open


def test_server_close_code_and_reason(server):
    ws = http.websocket_connect(server.url + "/close")
    ws.send("anything")
    with pytest.raises(http.ConnectionClosed) as info:
        ws.recv()
    assert info.value.code == 4001 and info.value.reason == "bye"
    assert ws.close_code == 4001 and ws.close_reason == "bye" and not ws.open
    with pytest.raises(http.ConnectionClosed):
        ws.send("too late")
    ws.close()  # idempotent


def test_iteration_ends_at_a_clean_close(server):
    ws = http.websocket_connect(server.url + "/close")
    ws.send("x")
    assert list(ws) == []
    assert ws.close_code == 4001


def test_headers_reach_the_server(server):
    with http.websocket_connect(server.url + "/greet", headers={"X-Name": "ada"}) as ws:
        assert ws.recv() == "hello ada"


def test_recv_timeout_keeps_the_connection_open(server):
    with http.websocket_connect(server.url + "/slow") as ws:
        ws.send("m")
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.05)
        assert ws.open
        assert ws.recv(timeout=5) == "m"


def test_enclosing_balrog_timeout(server):
    with http.websocket_connect(server.url + "/slow") as ws:
        ws.send("m")
        with pytest.raises(balrog.Timeout):
            with balrog.Timeout(0.05):
                ws.recv()
        assert ws.recv(timeout=5) == "m"


def test_many_greenlets_have_sockets_in_flight_together(server):
    def one(i):
        with http.websocket_connect(server.url + "/slow") as ws:
            ws.send(f"m{i}")
            return ws.recv()

    start = time.monotonic()
    greenlets = [balrog.spawn(one, i) for i in range(20)]
    assert [g.join() for g in greenlets] == [f"m{i}" for i in range(20)]
    assert time.monotonic() - start < 3.0  # one after another: 6 s


def test_connection_refused_and_bad_urls():
    with pytest.raises(ConnectionRefusedError):
        http.websocket_connect(refused_url().replace("http://", "ws://"))
    with pytest.raises(RuntimeError, match="ws://"):
        http.websocket_connect("http://127.0.0.1:1/")


def test_unbounded_or_empty_handshake_timeouts_are_refused(server):
    for bad in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError, match="open_timeout"):
            http.websocket_connect(server.url + "/echo", open_timeout=bad)
        with pytest.raises(ValueError, match="close_timeout"):
            http.websocket_connect(server.url + "/echo", close_timeout=bad)


def test_handshake_refused_by_a_plain_http_server():
    from httpserver import LoopbackServer

    s = LoopbackServer()
    try:
        with pytest.raises(http.HandshakeError) as info:
            http.websocket_connect(s.url.replace("http://", "ws://") + "/status/403")
        assert info.value.status_code == 403
    finally:
        s.close()
