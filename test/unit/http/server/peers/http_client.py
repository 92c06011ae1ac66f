"""HTTP peers for http_server_peers_test: Python's http.client and requests against the server.

    http_client.py <scenario> <base-url>

Each scenario asserts what it gets and prints "ok" (exit 0), or raises (exit 1, traceback).
"""
import http.client
import json
import sys
import urllib.parse

import requests


def requests_json(base):
    with requests.Session() as s:
        for i in range(20):
            r = s.post(base + "/json", json={"n": i, "text": "caf\u00e9"}, timeout=10)
            assert r.status_code == 200, r.status_code
            assert r.headers["Content-Type"] == "application/json", r.headers
            assert r.json() == {"n": i + 1, "text": "caf\u00e9"}, r.text
        bad = s.post(base + "/json", data="{nope", timeout=10)
        assert bad.status_code == 400, bad.status_code
        assert s.get(base + "/missing", timeout=10).status_code == 404


def http_client_head_and_10(base):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("HEAD", "/hello")
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Length") == "6", r.getheaders()
    assert r.read() == b""
    c.request("GET", "/hello")  # same connection: HEAD left no body behind
    r = c.getresponse()
    assert r.read() == b"hello\n"
    c.close()
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c._http_vsn, c._http_vsn_str = 10, "HTTP/1.0"
    c.request("GET", "/hello")
    r = c.getresponse()
    assert r.version == 10 and r.read() == b"hello\n", r.version
    c.close()


def slow_request(base):
    # A request whose handler takes a while: the test shuts the server down meanwhile.
    r = requests.get(base + "/slow-signal", timeout=30)
    assert r.status_code == 200 and r.text == "slow done\n", (r.status_code, r.text)
    assert r.headers.get("Connection") == "close", r.headers


SCENARIOS = {
    "requests_json": requests_json,
    "http_client_head_and_10": http_client_head_and_10,
    "slow_request": slow_request,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[2])
    print("ok", flush=True)
