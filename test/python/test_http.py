"""balrog.http: the requests-like client on balrog::http, against a loopback server started
here (httpserver.py, the stdlib's http.server on real threads)."""

import json
import time

import pytest

import balrog
from balrog import http

from httpserver import LoopbackServer, refused_url, stalled_url


@pytest.fixture(scope="module")
def server():
    s = LoopbackServer()
    yield s
    s.close()


def test_get_returns_status_headers_and_body(server):
    r = http.get(server.url + "/json")
    assert r.status_code == 200 and r.ok and r.reason == "OK"
    assert r.headers["content-type"] == "application/json"
    assert r.headers["Content-Type"] == r.headers["CONTENT-TYPE"]
    assert r.json() == {"name": "ada", "tags": ["a", "b"], "n": 1}
    assert r.content == json.dumps({"name": "ada", "tags": ["a", "b"], "n": 1}).encode()
    assert r.url == server.url + "/json"
    assert r.elapsed.total_seconds() > 0


def test_json_round_trip_params_headers_and_methods(server):
    payload = {"name": "ada", "n": [1, 2.5, None, True], "nested": {"é": "✓"}}
    r = http.post(server.url + "/echo", json=payload, params={"q": "a b", "tag": ["x", "y"]},
                  headers={"X-Test": "1"})
    echo = r.json()
    assert echo["method"] == "POST"
    assert json.loads(echo["body"]) == payload
    assert echo["headers"]["content-type"] == "application/json"
    assert echo["headers"]["x-test"] == "1"
    assert echo["query"] == [["q", "a b"], ["tag", "x"], ["tag", "y"]]
    for method in ("put", "patch", "delete"):
        echo = getattr(http, method)(server.url + "/echo", data=b"raw").json()
        assert echo["method"] == method.upper()
        assert echo["body"] == ("raw" if method != "delete" else echo["body"])
    assert http.head(server.url + "/json").content == b""
    assert http.request("OPTIONS", server.url + "/echo").json()["method"] == "OPTIONS"


def test_form_and_files(server):
    echo = http.post(server.url + "/echo", data={"a": "1", "b": "x y"}).json()
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert echo["body"] == "a=1&b=x+y" or echo["body"] == "a=1&b=x%20y"
    echo = http.post(server.url + "/echo", data={"field": "v"},
                     files={"up": ("notes.txt", b"file body", "text/plain")}).json()
    assert echo["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert 'name="up"; filename="notes.txt"' in echo["body"]
    assert "file body" in echo["body"] and 'name="field"' in echo["body"]


def test_text_decoding(server):
    assert http.get(server.url + "/text").text == "héllo"
    r = http.get(server.url + "/utf8")
    assert r.encoding is None and r.text == "héllo ✓"


def test_raise_for_status_and_http_error(server):
    r = http.get(server.url + "/status/404")
    assert r.status_code == 404 and not r.ok and r.text == "status 404"
    with pytest.raises(http.HTTPError) as info:
        r.raise_for_status()
    assert info.value.response is r and info.value.status_code == 404
    assert "404 Client Error" in str(info.value)
    with pytest.raises(http.HTTPError, match="503 Server Error"):
        http.get(server.url + "/status/503").raise_for_status()
    http.get(server.url + "/status/204").raise_for_status()
    with pytest.raises(http.JSONDecodeError) as bad:
        http.get(server.url + "/text").json()
    assert isinstance(bad.value, ValueError)


def test_redirects(server):
    r = http.get(server.url + "/redirect", params={"to": "/echo"})
    assert r.status_code == 200 and r.url == server.url + "/echo" and r.redirect_count == 1
    r = http.get(server.url + "/redirect", params={"to": "/echo"}, allow_redirects=False)
    assert r.status_code == 302 and r.is_redirect and r.headers["location"] == "/echo"
    assert http.head(server.url + "/redirect?to=/echo").status_code == 302  # requests' rule
    with pytest.raises(http.TooManyRedirects):
        http.get(server.url + "/redirect?to=/redirect%3Fto%3D/echo", max_redirects=1)


def test_hundred_concurrent_gets_run_concurrently(server):
    # Each answer takes 100 ms: one after another would be 10 s. A correctness check that the
    # requests of many greenlets are in flight together, not a benchmark.
    start = time.monotonic()
    greenlets = [balrog.spawn(http.get, server.url + "/delay?ms=100") for _ in range(100)]
    statuses = [g.join().status_code for g in greenlets]
    took = time.monotonic() - start
    assert statuses == [200] * 100
    assert took < 2.0, took


def test_other_greenlets_run_while_a_request_waits(server):
    ticks = []

    def ticker():
        for _ in range(5):
            ticks.append(time.monotonic())
            balrog.sleep(0.02)

    t = balrog.spawn(ticker)
    r = http.get(server.url + "/delay?ms=300")
    assert r.text == "ok" and len(ticks) == 5
    t.join()


def test_read_timeout(server):
    start = time.monotonic()
    with pytest.raises(http.ReadTimeout) as info:
        http.get(server.url + "/delay?ms=3000", timeout=0.2)
    assert time.monotonic() - start < 2.0
    assert isinstance(info.value, http.Timeout) and isinstance(info.value, TimeoutError)
    assert not isinstance(info.value, ConnectionError)
    with pytest.raises(http.Timeout):
        http.get(server.url + "/delay?ms=3000", timeout=(5, 0.2))
    with pytest.raises(http.Timeout):
        http.get(server.url + "/delay?ms=3000", total_timeout=0.2)
    # The server and the client are still fine afterwards.
    assert http.get(server.url + "/delay?ms=1").text == "ok"


def test_connect_timeout():
    with stalled_url() as url:
        start = time.monotonic()
        with pytest.raises(http.ConnectTimeout) as info:
            http.get(url, timeout=(0.3, 5))
        assert time.monotonic() - start < 2.0
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, ConnectionError)


def test_enclosing_balrog_timeout_bounds_a_request(server):
    start = time.monotonic()
    with pytest.raises(balrog.Timeout):
        with balrog.Timeout(0.2):
            http.get(server.url + "/delay?ms=3000")
    assert time.monotonic() - start < 2.0
    assert http.get(server.url + "/json").ok


def test_a_killed_greenlet_cancels_its_request_and_leaves_others_alone(server):
    slow = balrog.spawn(http.get, server.url + "/delay?ms=3000")
    fast = balrog.spawn(http.get, server.url + "/delay?ms=100")
    balrog.sleep(0.05)
    slow.kill()
    assert slow.value is None
    assert fast.join().text == "ok"


def test_connection_refused():
    with pytest.raises(http.ConnectionError) as info:
        http.get(refused_url())
    assert isinstance(info.value, ConnectionError)  # the builtin too
    assert not isinstance(info.value, TimeoutError)
    assert "refused" in str(info.value).lower() or "connect" in str(info.value).lower()


def test_unknown_host():
    with pytest.raises(http.ConnectionError, match="(?i)resolve"):
        http.get("http://nonexistent.invalid/", timeout=10)


def test_tls_error_against_a_plain_http_server(server):
    with pytest.raises(http.TLSError) as info:
        http.get(server.url.replace("http://", "https://") + "/json", timeout=5)
    assert isinstance(info.value, http.ConnectionError)


def test_invalid_url():
    with pytest.raises(http.InvalidURL):
        http.get("gopher+nope://127.0.0.1/")
    with pytest.raises(ValueError):
        http.get("http://127.0.0.1/", timeout=-1)


def test_peer_hangup_is_a_connection_error(server):
    with pytest.raises(http.ConnectionError):
        http.get(server.url + "/hangup")


def test_streaming_iter_content_and_iter_lines(server):
    r = http.get(server.url + "/stream?n=5&ms=50", stream=True)
    assert r.status_code == 200
    arrivals = []
    pieces = []
    for piece in r.iter_content(chunk_size=None):
        arrivals.append(time.monotonic())
        pieces.append(piece)
    assert b"".join(pieces) == b"".join(b"chunk %d\n" % i for i in range(5))
    assert arrivals[-1] - arrivals[0] >= 0.1  # pieces came as the server sent them
    with pytest.raises(RuntimeError):
        r.content  # consumed
    r = http.get(server.url + "/stream?n=3", stream=True)
    assert list(r.iter_lines(decode_unicode=True)) == ["chunk 0", "chunk 1", "chunk 2"]
    r = http.get(server.url + "/stream?n=3", stream=True)
    assert r.content == b"chunk 0\nchunk 1\nchunk 2\n"
    assert list(http.get(server.url + "/json").iter_content(4))[0] == b'{"na'
    with http.get(server.url + "/stream?n=50&ms=20", stream=True) as r:
        next(r.iter_content(None))  # closing early abandons the transfer
    assert http.get(server.url + "/json").ok


def test_streams_of_many_greenlets_interleave(server):
    def read(n):
        r = http.get(server.url + f"/stream?n={n}&ms=30", stream=True)
        return [line for line in r.iter_lines()]

    start = time.monotonic()
    greenlets = [balrog.spawn(read, 5) for _ in range(10)]
    assert all(len(g.join()) == 5 for g in greenlets)
    assert time.monotonic() - start < 1.2  # 10 x 150 ms one after another: 1.5 s


def test_session_headers_base_url_and_cookies(server):
    with http.Session(base_url=server.url + "/", headers={"X-Api": "k1"}, timeout=5) as s:
        echo = s.get("echo", headers={"X-Extra": "2"}).json()
        assert echo["headers"]["x-api"] == "k1" and echo["headers"]["x-extra"] == "2"
        s.headers["X-Api"] = "k2"
        assert s.get("echo").json()["headers"]["x-api"] == "k2"
        assert "x-api" not in s.get("echo", headers={"X-Api": None}).json()["headers"]
        s.get("set-cookie", params={"sid": "abc"})
        assert s.cookies["sid"] == "abc" and "sid" in dict(s.cookies)
        assert s.get("cookies").text == "sid=abc"
        assert s.get("cookies", cookies={"extra": "1"}).text in (
            "sid=abc; extra=1", "extra=1; sid=abc")
        s.cookies.clear()
        assert s.get("cookies").text == ""
    # The module functions keep no cookies.
    http.get(server.url + "/set-cookie?x=1")
    assert http.get(server.url + "/cookies").text == ""


def test_session_shared_by_greenlets(server):
    s = http.Session(base_url=server.url)
    greenlets = [balrog.spawn(s.get, "/delay?ms=100") for _ in range(20)]
    assert [g.join().text for g in greenlets] == ["ok"] * 20


def test_exceptions_hierarchy():
    assert issubclass(http.Timeout, TimeoutError) and issubclass(http.Timeout, OSError)
    assert issubclass(http.ConnectionError, ConnectionError)
    assert issubclass(http.TLSError, http.ConnectionError)
    assert issubclass(http.ConnectTimeout, http.Timeout)
    assert issubclass(http.ConnectTimeout, http.ConnectionError)
    assert issubclass(http.HTTPError, http.RequestError)
    assert http.RequestException is http.RequestError


def test_a_greenlet_killed_mid_stream_leaves_the_client_usable(server):
    got = []

    def reader():
        r = http.get(server.url + "/stream?n=50&ms=20", stream=True)
        for piece in r.iter_content(None):
            got.append(piece)

    g = balrog.spawn(reader)
    balrog.sleep(0.15)
    g.kill()
    assert g.ready and 0 < len(got) < 50
    assert http.get(server.url + "/json").json()["name"] == "ada"


def test_threads_have_their_own_hubs_and_streams_stay_with_theirs(server):
    import threading

    out = {}

    def in_thread():
        out["text"] = http.get(server.url + "/delay?ms=50").text
        out["stream"] = http.get(server.url + "/stream?n=3", stream=True)

    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    assert out["text"] == "ok"
    with pytest.raises(ValueError, match="another thread"):
        out["stream"].content


@pytest.fixture(scope="module")
def tls_server(certificate):
    s = LoopbackServer(tls=certificate)
    yield s
    s.close()


def test_https_verify(tls_server, certificate):
    url = tls_server.url + "/json"
    with pytest.raises(http.TLSError, match="(?i)certificate"):
        http.get(url, timeout=5)  # self-signed: not in the system store
    assert http.get(url, verify=False).json()["name"] == "ada"
    assert http.get(url, verify=certificate[1]).json()["name"] == "ada"
    with http.Session(verify=certificate[1]) as s:
        assert s.get(url).ok
        with pytest.raises(http.TLSError):
            s.get(url, verify=True)  # the system store, again
