#!/usr/bin/python3
"""A server that answers every HTTP/1.1 request after a delay: the peer of the compat case.

    delay_server.py --delay-ms 100      # prints "port N" once listening; serves until killed

One asyncio loop, keep-alive; every request gets "200 OK" with a 3-byte body DELAY ms after
its headers arrived, so N concurrent requests all finish about DELAY ms after they started.
Only the Python standard library is used.
"""
import argparse
import asyncio

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"


async def serve(reader, writer, delay):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay-ms", type=int, default=100)
    args = ap.parse_args()
    delay = args.delay_ms / 1000.0
    server = await asyncio.start_server(lambda r, w: serve(r, w, delay), "127.0.0.1", 0,
                                        backlog=4096)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
