#!/usr/bin/python3
"""The HTTP peer of balrog's client tests: a small threaded HTTP/1.1 server on loopback.

    /usr/bin/python3 test_server.py            # prints "port N" once listening, serves until killed

Endpoints (GET unless said otherwise; any method for /echo):
    /echo                   JSON: method, path, query (list of pairs), headers (list), body,
                            client_port (tells which connection the request came on)
    /status/N               answers status N with a short body
    /redirect/N             302 to /redirect/N-1 ... /redirect/0 -> /echo
    /redirect-to?url=U&status=S   S (default 302) to U
    /loop                   302 to itself, forever
    /slow?ms=N              answers after N ms
    /hang                   reads the request and never answers (the connection stays open)
    /bytes/N                N bytes (a repeating pattern), with Content-Length
    /chunked/N?pieces=K&ms=D   N bytes in K chunks, D ms apart (Transfer-Encoding: chunked)
    /reset-mid-body         announces 1 MB, sends 1000 bytes, then resets the connection
    /close-mid-body         announces 1 MB, sends 1000 bytes, then closes (FIN)
    /gzip                   a gzip-encoded JSON body (Content-Encoding: gzip)
    /cookies/set?k=v&...    sets the cookies, then 302 to /cookies
    /cookies                JSON: the Cookie header received, parsed
    /basic-auth/U/P         200 if Basic credentials U:P came, else 401
    /not-json               200 with a body that is not JSON
    /headers-only           200 with two Set-Cookie-like repeated headers (X-Multi)
Only the Python standard library is used.
"""
import base64
import gzip
import json
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATTERN = bytes((i * 131 + i // 4096) & 0xFF for i in range(65536))


def pattern(n):
    out = bytearray()
    while len(out) < n:
        out += PATTERN[: n - len(out)]
    return bytes(out)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def send(self, status, body=b"", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, obj, status=200, headers=()):
        self.send(status, json.dumps(obj), [("Content-Type", "application/json")] + list(headers))

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        q = dict(query)
        parts = [p for p in url.path.split("/") if p]
        body = self.body()
        if url.path == "/echo":
            try:
                text = body.decode()
            except UnicodeDecodeError:
                text = None
            self.send_json({
                "method": self.command,
                "path": url.path,
                "query": query,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": text,
                "body_base64": base64.b64encode(body).decode(),
                "client_port": self.client_address[1],
            })
        elif parts[:1] == ["status"]:
            status = int(parts[1])
            self.send(status, "" if status in (204, 304) else "status %d\n" % status)
        elif parts[:1] == ["redirect"]:
            n = int(parts[1])
            self.send(302, "", [("Location", "/redirect/%d" % (n - 1) if n > 0 else "/echo")])
        elif url.path == "/redirect-to":
            self.send(int(q.get("status", "302")), "", [("Location", q["url"])])
        elif url.path == "/loop":
            self.send(302, "", [("Location", "/loop")])
        elif url.path == "/slow":
            time.sleep(int(q.get("ms", "100")) / 1000.0)
            self.send(200, "slow\n")
        elif url.path == "/hang":
            time.sleep(3600)
        elif parts[:1] == ["bytes"]:
            self.send(200, pattern(int(parts[1])), [("Content-Type", "application/octet-stream")])
        elif parts[:1] == ["chunked"]:
            n, pieces, ms = int(parts[1]), int(q.get("pieces", "4")), int(q.get("ms", "0"))
            data = pattern(n)
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            step = max(1, (n + pieces - 1) // pieces)
            for i in range(0, n, step):
                piece = data[i:i + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                if ms:
                    time.sleep(ms / 1000.0)
            self.wfile.write(b"0\r\n\r\n")
        elif url.path in ("/reset-mid-body", "/close-mid-body"):
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(pattern(1000))
            self.wfile.flush()
            if url.path == "/reset-mid-body":  # SO_LINGER 0: close sends RST
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_WR)
            self.connection.close()
            self.close_connection = True
        elif url.path == "/gzip":
            data = gzip.compress(json.dumps({"compressed": True}).encode())
            self.send(200, data, [("Content-Type", "application/json"),
                                  ("Content-Encoding", "gzip")])
        elif url.path == "/cookies/set":
            headers = [("Set-Cookie", "%s=%s; Path=/" % kv) for kv in query]
            self.send(302, "", headers + [("Location", "/cookies")])
        elif url.path == "/cookies":
            cookies = {}
            for piece in self.headers.get("Cookie", "").split(";"):
                if "=" in piece:
                    k, v = piece.strip().split("=", 1)
                    cookies[k] = v
            self.send_json({"cookies": cookies})
        elif parts[:1] == ["basic-auth"]:
            expected = "Basic " + base64.b64encode(("%s:%s" % (parts[1], parts[2])).encode()).decode()
            if self.headers.get("Authorization") == expected:
                self.send_json({"authenticated": True})
            else:
                self.send(401, "", [("WWW-Authenticate", 'Basic realm="test"')])
        elif url.path == "/not-json":
            self.send(200, "<html>not json</html>", [("Content-Type", "text/html")])
        elif url.path == "/headers-only":
            self.send(200, "ok", [("X-Multi", "one"), ("X-Multi", "two")])
        else:
            self.send(404, "not found\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # clients that reset or time out are what the fault tests do


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print("port %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
