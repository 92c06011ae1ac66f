"""balrog.patch(): requests on balrog.http, next to unpatched requests (same results, same
exception types), and cooperative only when patched."""

import time

import pytest
import requests  # python3-requests (scripts/bootstrap)

import balrog

from httpserver import LoopbackServer, refused_url, stalled_url


@pytest.fixture(scope="module")
def server():
    s = LoopbackServer()
    yield s
    s.close()


@pytest.fixture
def patched():
    balrog.patch(time=False, threading=False, psycopg2=False, psycopg=False)
    yield
    balrog.unpatch()


def both(fn):
    """fn() unpatched, then patched (in a greenlet): the two outcomes, each a value or the
    exception's type."""
    def outcome():
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            return type(e)

    plain = outcome()
    balrog.patch(time=False, threading=False, psycopg2=False, psycopg=False)
    try:
        assert balrog.is_patched("requests")
        cooperative = balrog.run(outcome)
    finally:
        balrog.unpatch()
    return plain, cooperative


def test_patch_mounts_the_adapter_and_unpatch_removes_it(patched):
    from balrog.patching._requests import BalrogAdapter

    assert isinstance(requests.Session().get_adapter("http://x/"), BalrogAdapter)
    assert isinstance(requests.Session().get_adapter("https://x/"), BalrogAdapter)
    balrog.unpatch()
    assert not isinstance(requests.Session().get_adapter("http://x/"), BalrogAdapter)


def test_results_match(server):
    def calls():
        r = requests.post(server.url + "/echo", json={"a": [1, "é"]}, params={"q": "x y"},
                          headers={"X-T": "1"})
        echo = r.json()
        form = requests.post(server.url + "/echo", data={"k": "v w"}).json()
        raw = requests.put(server.url + "/echo", data=b"bytes").json()
        return (type(r), r.status_code, r.reason, r.headers["content-type"], echo["method"],
                echo["body"], echo["query"], echo["headers"]["x-t"],
                echo["headers"]["content-type"], form["body"],
                form["headers"]["content-type"], raw["body"], raw["headers"].get("content-type"),
                requests.head(server.url + "/json").content,
                requests.get(server.url + "/text").text,
                requests.get(server.url + "/utf8").content)

    plain, cooperative = both(calls)
    assert cooperative == plain
    assert cooperative[0] is requests.Response


def test_http_errors_match(server):
    def calls():
        r = requests.get(server.url + "/status/404")
        try:
            r.raise_for_status()
        except requests.HTTPError as e:
            return r.status_code, r.text, type(e), str(e), e.response is r
        return None

    plain, cooperative = both(calls)
    assert cooperative == plain and plain[2] is requests.HTTPError


def test_redirects_match(server):
    def calls():
        r = requests.get(server.url + "/redirect", params={"to": "/echo", "code": "301"})
        p = requests.post(server.url + "/redirect?to=/echo&code=307", data=b"kept")
        n = requests.get(server.url + "/redirect?to=/echo", allow_redirects=False)
        return (r.status_code, r.url, [h.status_code for h in r.history], r.json()["method"],
                p.json()["method"], p.json()["body"], n.status_code, n.is_redirect)

    plain, cooperative = both(calls)
    assert cooperative == plain and plain[2] == [301]


def test_too_many_redirects_match(server):
    def calls():
        s = requests.Session()
        s.max_redirects = 2
        return s.get(server.url + "/redirect?to=/redirect%3Fto%3D/redirect%253Fto%253D/echo")

    plain, cooperative = both(calls)
    assert plain is cooperative is requests.TooManyRedirects


def test_cookies_match(server):
    def calls():
        s = requests.Session()
        s.get(server.url + "/set-cookie?a=1&b=2")
        return dict(s.cookies), s.get(server.url + "/cookies").text

    plain, cooperative = both(calls)
    assert cooperative == plain and plain[0] == {"a": "1", "b": "2"}


def test_streaming_matches(server):
    def calls():
        r = requests.get(server.url + "/stream?n=4&ms=20", stream=True)
        lines = list(r.iter_lines())
        r2 = requests.get(server.url + "/stream?n=3", stream=True)
        chunks = b"".join(r2.iter_content(chunk_size=5))
        r3 = requests.get(server.url + "/stream?n=3", stream=True)
        r4 = requests.get(server.url + "/stream?n=3", stream=True)
        return (lines, chunks, r3.raw.read(7), r3.raw.read(),
                b"".join(r4.iter_content(chunk_size=None)))

    plain, cooperative = both(calls)
    assert cooperative == plain


@pytest.mark.parametrize("timeout", [0.2, (5, 0.2)])
def test_read_timeout_matches(server, timeout):
    plain, cooperative = both(
        lambda: requests.get(server.url + "/delay?ms=2000", timeout=timeout))
    assert plain is cooperative is requests.ReadTimeout


def test_connect_timeout_matches():
    with stalled_url() as url:
        plain, cooperative = both(lambda: requests.get(url, timeout=(0.3, 5)))
    assert plain is cooperative is requests.ConnectTimeout


def test_refused_connection_matches():
    url = refused_url()
    plain, cooperative = both(lambda: requests.get(url, timeout=5))
    assert plain is cooperative is requests.ConnectionError


def test_unknown_host_matches():
    plain, cooperative = both(lambda: requests.get("http://nonexistent.invalid/", timeout=10))
    assert plain is cooperative is requests.ConnectionError


def test_tls_error_matches(server):
    url = server.url.replace("http://", "https://") + "/json"
    plain, cooperative = both(lambda: requests.get(url, timeout=5))
    assert plain is cooperative is requests.exceptions.SSLError


def test_cooperative_only_when_patched(server):
    def ten_gets():
        start = time.monotonic()
        gs = [balrog.spawn(requests.get, server.url + "/delay?ms=150") for _ in range(10)]
        assert [g.join().text for g in gs] == ["ok"] * 10
        return time.monotonic() - start

    plain = balrog.run(ten_gets)
    assert plain >= 1.4  # one after another: each blocks the thread
    balrog.patch(time=False, threading=False, psycopg2=False, psycopg=False)
    try:
        cooperative = balrog.run(ten_gets)
    finally:
        balrog.unpatch()
    assert cooperative < 1.0, cooperative


def test_enclosing_balrog_timeout_interrupts_a_patched_request(server, patched):
    start = time.monotonic()
    with pytest.raises(balrog.Timeout):
        with balrog.Timeout(0.2):
            requests.get(server.url + "/delay?ms=3000")
    assert time.monotonic() - start < 2.0


def test_https_verify_matches(certificate):
    s = LoopbackServer(tls=certificate)
    try:
        url = s.url + "/json"
        plain, cooperative = both(lambda: requests.get(url, timeout=5))
        assert plain is cooperative is requests.exceptions.SSLError
        plain, cooperative = both(
            lambda: (requests.get(url, verify=certificate[1]).json(),
                     requests.get(url, verify=False).status_code))
        assert cooperative == plain == ({"name": "ada", "tags": ["a", "b"], "n": 1}, 200)
    finally:
        s.close()
