#!/usr/bin/python3
"""An HTTP/1.1 server for the HTTP client benchmark: every request is answered "ok" after
--delay-ms (asyncio, keep-alive, no threads), so a thousand requests wait at once cheaply.

    delay_server.py --port 0 --delay-ms 100

Prints "port N" once it listens, then serves until killed.
"""
import argparse
import asyncio


async def serve(port, delay):
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                await asyncio.sleep(delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay-ms", type=float, default=100.0)
    a = p.parse_args()
    asyncio.run(serve(a.port, a.delay_ms / 1000))


if __name__ == "__main__":
    main()
