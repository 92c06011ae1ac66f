#!/usr/bin/python3
"""A server that answers every HTTP/1.1 request after a delay: the peer of the compat case.

    delay_server.py --delay-ms 100      # prints "port N" once listening; serves until killed

One asyncio loop, keep-alive; every request gets "200 OK" with a 3-byte body DELAY ms after
its headers arrived, so N concurrent requests all finish about DELAY ms after they started.
Only the Python standard library is used.

Written on asyncio's Protocol layer (data_received + loop.call_later), not on streams: the
compat case sends 1,000 requests at once, each on a new connection, and this server runs on
ONE core. With asyncio streams (StreamReader.readuntil, asyncio.sleep, drain: a task per
connection) it needed 120-170 ms of CPU per 1,000 connections and requests (measured from its
/proc/PID/stat while the case ran), so both clients measured the server more than themselves:
its CPU alone was most of the 200 ms the case allows. The Protocol version does a fraction of
that work per request (no task, no stream buffers, one timer handle). The listen backlog is
4096 (net.core.somaxconn caps it) so the 1,000 connects are not refused or retried.
"""
import argparse
import asyncio

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"


class DelayProtocol(asyncio.Protocol):
    """Reads requests (headers and a Content-Length body) and answers each after the delay."""

    def __init__(self, delay):
        self.delay = delay
        self.buf = b""
        self.need = 0  # body bytes of the current request still to skip
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        loop = asyncio.get_running_loop()
        while True:
            if self.need:
                take = min(self.need, len(buf))
                self.need -= take
                buf = buf[take:]
                if self.need:
                    break
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            buf = buf[end + 4:]
            low = head.lower()
            i = low.find(b"content-length:")
            if i >= 0:
                j = low.find(b"\r\n", i)
                self.need = int(low[i + 15:j if j >= 0 else len(low)])
            loop.call_later(self.delay, self.answer)
        self.buf = buf

    def answer(self):
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(RESPONSE)

    def connection_lost(self, exc):
        self.transport = None
        self.buf = b""

    def eof_received(self):
        return False  # close our side too


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay-ms", type=int, default=100)
    args = ap.parse_args()
    delay = args.delay_ms / 1000.0
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: DelayProtocol(delay), "127.0.0.1", 0, backlog=4096)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
