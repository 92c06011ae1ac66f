#!/usr/bin/python3
"""Writes the fuzzers' seed corpora (test/fuzz/<target>/corpus). Run it after changing a seed;
the files are committed. Each http_request seed is a mode byte (how the input is cut into
reads) followed by the bytes a client sends; each websocket_frame seed is a flags byte (bit 0:
permessage-deflate) followed by client frames.
"""
import os
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write(target, name, data):
    d = HERE / target / "corpus"
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def req(text):
    return text.replace("\n", "\r\n").encode()


HTTP = {
    "get": req("GET / HTTP/1.1\nHost: x\n\n"),
    "params": req("GET /items/42?q=a%20b&x HTTP/1.1\nHost: x\nUser-Agent: seed\n\n"),
    "rest": req("GET /files/a/b%2Fc/../d HTTP/1.1\nHost: x\n\n"),
    "pipelined": req("GET / HTTP/1.1\nHost: x\n\nGET /items/1 HTTP/1.1\nHost: x\n\n"
                     "POST /echo HTTP/1.1\nHost: x\nContent-Length: 3\n\nabcGET /fail HTTP/1.1\n"
                     "Host: x\nConnection: close\n\n"),
    "chunked": req("POST /echo HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n"
                   "4;ext=v\nabcd\n0\nTrailer: t\n\n"),
    "expect": req("POST /echo HTTP/1.1\nHost: x\nExpect: 100-continue\nContent-Length: 2\n\nhi"),
    "json": req('PUT /json HTTP/1.1\nHost: x\nContent-Type: application/json\n'
                'Content-Length: 26\n\n{"a":[1,2.5,"x",null,true]}'),
    "stream10": req("GET /stream HTTP/1.0\n\n"),
    "head": req("HEAD / HTTP/1.1\nHost: x\n\n"),
    "options": req("OPTIONS /items/1 HTTP/1.1\nHost: x\n\nDELETE / HTTP/1.1\nHost: x\n\n"),
    "upgrade": req("GET /ws HTTP/1.1\nHost: x\nConnection: Upgrade\nUpgrade: websocket\n"
                   "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n\n"),
    "absolute": req("GET http://h:80/items/9 HTTP/1.1\nHost: h\n\n"),
    "keepalive10": req("GET / HTTP/1.0\nConnection: keep-alive\n\nGET / HTTP/1.0\n\n"),
    "badline": req("GET /a b HTTP/1.1\nHost: x\n\n"),
    "nohost": req("GET / HTTP/1.1\n\n"),
    "bigheader": req("GET / HTTP/1.1\nHost: x\nX: " + "a" * 5000 + "\n\n"),
    "manyfields": req("GET / HTTP/1.1\nHost: x\n" + "".join("F%d: v\n" % i for i in range(40))
                      + "\n"),
    "smuggle": req("POST /echo HTTP/1.1\nHost: x\nContent-Length: 3\nTransfer-Encoding: chunked"
                   "\n\n0\n\n"),
}

for i, (name, data) in enumerate(sorted(HTTP.items())):
    write("http_request", name, bytes([i % 4]) + data)

# Regressions the fuzzer found, each with the read mode that found it (1: byte by byte).
write("http_request", "empty_chunked_bytewise",
      bytes([1]) + req("POST /echo HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n0\n\n"))


def frame(opcode, payload, fin=True, mask=b"\x11\x22\x33\x44", rsv1=False):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + mask + masked


def deflate(payload):
    c = zlib.compressobj(wbits=-15)
    data = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]  # RFC 7692: drop the trailing 00 00 ff ff


close_normal = frame(8, struct.pack("!H", 1000) + b"bye")
WS = {
    "text": b"\x00" + frame(1, b"hello") + close_normal,
    "binary": b"\x00" + frame(2, bytes(range(256))) + close_normal,
    "fragmented": b"\x00" + frame(1, b"frag", fin=False) + frame(9, b"ping in between")
                  + frame(0, b"ment", fin=False) + frame(0, b"ed") + close_normal,
    "ping_pong": b"\x00" + frame(9, b"p") + frame(10, b"unsolicited pong") + close_normal,
    "medium": b"\x00" + frame(2, b"m" * 1000),
    "bad_utf8": b"\x00" + frame(1, b"\xff\xfe"),
    "unmasked": b"\x00" + bytes([0x81, 0x02]) + b"hi",
    "close_bad_code": b"\x00" + frame(8, struct.pack("!H", 999)),
    "compressed": b"\x01" + frame(1, deflate(b"compressed " * 50), rsv1=True) + close_normal,
    "compressed_fragments": b"\x01" + frame(1, deflate(b"abc" * 30)[:10], fin=False, rsv1=True)
                            + frame(0, deflate(b"abc" * 30)[10:]) + close_normal,
    # A compressed text frame whose 64-bit length claims ~2^64 bytes: Beast sized its read
    # buffer from it (std::bad_alloc out of receive(), found by the fuzzer on 2026-12-07); the
    # buffer's limit now ends it as protocol_error 1009.
    "compressed_huge_length": b"\x01" + bytes.fromhex(
        "c1ffffff00f9ffffffda1122d33a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a22443a3a3a3a3a3a"
        "bb243a3a3a3a7f536a"),
}
for name, data in sorted(WS.items()):
    write("websocket_frame", name, data)
