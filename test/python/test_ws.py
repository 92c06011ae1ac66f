"""balrog.ws: the WebSocket endpoint of balrog.wsgi's server (websocket_path) and sending to
its clients by key from Python (docs/python.md, "WebSocket endpoint: balrog.ws").

The server and the clients (balrog.http.websocket_connect) share this thread's hub."""

import time

import pytest

import balrog
from balrog import ws
from balrog.http import ConnectionClosed, websocket_connect
from balrog.wsgi import Server


def app(environ, start_response):
    # A view that pushes to the client of the request (its cookie or query parameter).
    n = ws.get_ws_connection(environ).send("pushed " + environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(n).encode()]


@pytest.fixture
def server():
    s = Server(app, "127.0.0.1:0", websocket_path="/ws", websocket_key="customer")
    s.listen()
    yield s
    s.close()
    ws.key_name = ws.KEY_NAME


def wait_connected(key, n=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while ws.connection(key).connected < n:
        assert time.monotonic() < deadline, f"{key}: {ws.connection(key).connected} connected"
        balrog.sleep(0.01)


def test_send_by_cookie_and_by_query(server):
    url = f"ws://127.0.0.1:{server.port}/ws"
    with websocket_connect(url, headers={"Cookie": "a=1; customer=c42; b=2"}) as c1, \
            websocket_connect(url + "?customer=q7") as c2:
        wait_connected("c42")
        wait_connected("q7")
        assert ws.key_name == "customer"
        assert ws.connection("c42").send("hello") == 1
        assert ws.connection("q7").send(b"\x00bin") == 1
        assert ws.connection("nobody").send("lost") == 0
        assert c1.recv(5) == "hello"
        assert c2.recv(5) == b"\x00bin"
        assert ws.clients() >= 2


def test_order_and_two_tabs(server):
    url = f"ws://127.0.0.1:{server.port}/ws?customer=tabs"
    with websocket_connect(url) as a, websocket_connect(url) as b:
        wait_connected("tabs", 2)
        for i in range(50):
            assert ws.connection("tabs").send(f"m{i}") == 2
        assert [a.recv(5) for _ in range(50)] == [f"m{i}" for i in range(50)]
        assert [b.recv(5) for _ in range(50)] == [f"m{i}" for i in range(50)]


def test_a_view_sends_to_its_own_client(server):
    from balrog.http import Session

    with websocket_connect(f"ws://127.0.0.1:{server.port}/ws",
                           headers={"Cookie": "customer=view1"}) as c:
        wait_connected("view1")
        with Session() as s:
            r = s.get(f"http://127.0.0.1:{server.port}/orders/1",
                      headers={"Cookie": "customer=view1"})
        assert r.status_code == 200 and r.content == b"1"
        assert c.recv(5) == "pushed /orders/1"


def test_no_key_is_closed_with_1008(server):
    with websocket_connect(f"ws://127.0.0.1:{server.port}/ws") as c:
        with pytest.raises(ConnectionClosed):
            c.recv(5)
        assert c.close_code == 1008


def test_gone_client_is_forgotten(server):
    c = websocket_connect(f"ws://127.0.0.1:{server.port}/ws?customer=gone")
    wait_connected("gone")
    c.close()
    deadline = time.monotonic() + 5
    while ws.connection("gone").send("anyone?") != 0:
        assert time.monotonic() < deadline
        balrog.sleep(0.01)
    assert ws.connection("gone").connected == 0


def test_key_of_a_django_like_request():
    class Req:
        COOKIES = {"balrog_ws": "k1"}
        GET = {"balrog_ws": "k2"}

    assert ws.key_of(Req()) == "k1"
    Req.COOKIES = {}
    assert ws.key_of(Req()) == "k2"
    assert ws.key_of({"HTTP_COOKIE": "x=1; balrog_ws=k3", "QUERY_STRING": ""}) == "k3"
    assert not ws.get_ws_connection({"QUERY_STRING": ""})
    assert ws.get_ws_connection({"QUERY_STRING": ""}).send("x") == 0
