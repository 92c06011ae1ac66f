#!/usr/bin/python3
"""The kitchen: a small HTTP service on balrog's server (balrog.wsgi.Server, the C++ HTTP
server through the Python bindings). POST /orders with a JSON order answers, after --delay
seconds (a greenlet sleeping: orders are cooked side by side), 201 {"mins": N}.

    kitchen.py --bind 127.0.0.1:8001 --delay 0.1 --mins 25

GET /health answers 200 "ok". GET /stats answers {"orders": N, "busiest": M}: the orders
answered so far, and the most that were cooking at once (the C++ flow's test checks with it
that its orders overlapped). Anything else: 404; a body that is not a JSON object: 400.
"""

import argparse
import json
import sys

import balrog
from balrog.wsgi import serve


def make_app(delay, mins):
    # Greenlets of one thread: they switch only while sleeping, so no lock is needed.
    stats = {"orders": 0, "busiest": 0}
    cooking = [0]

    def app(environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if path == "/health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/stats" and method == "GET":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(stats).encode()]
        if path != "/orders" or method != "POST":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            order = json.loads(environ["wsgi.input"].read(length))
            if not isinstance(order, dict):
                raise ValueError("not an object")
        except ValueError:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"expected a JSON object\n"]
        cooking[0] += 1
        stats["busiest"] = max(stats["busiest"], cooking[0])
        try:
            balrog.sleep(delay)  # cooking: this greenlet waits, the others go on
        finally:
            cooking[0] -= 1
        stats["orders"] += 1
        body = json.dumps({"mins": mins, "order": order.get("order")}).encode()
        start_response("201 Created", [("Content-Type", "application/json"),
                                       ("Content-Length", str(len(body)))])
        return [body]

    return app


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bind", default="127.0.0.1:8001", help="host:port (port 0: any free)")
    p.add_argument("--delay", type=float, default=0.1, help="seconds before answering")
    p.add_argument("--mins", type=int, default=25, help="the delivery estimate answered")
    args = p.parse_args(argv)

    def listening(server):
        print(f"kitchen listening on {server.host}:{server.port}", flush=True)

    serve(make_app(args.delay, args.mins), args.bind, on_listening=listening)
    return 0


if __name__ == "__main__":
    sys.exit(main())
