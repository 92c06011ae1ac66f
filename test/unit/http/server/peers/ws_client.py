"""WebSocket client peers (Python's websockets) for http_websocket_test.

    ws_client.py <scenario> <ws-url>

Each scenario asserts what it gets, prints what the test checks, then "ok" (exit 0); an
assertion or an unexpected close raises (exit 1, traceback).
"""
import asyncio
import sys

import websockets


async def echo(url):
    async with websockets.connect(url, compression=None, max_size=2**24) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
        await ws.send(b"\x00\x01\xff")
        assert await ws.recv() == b"\x00\x01\xff"
        await ws.send(["frag", "ment", "ed"])  # one message in three frames
        assert await ws.recv() == "fragmented"
        big = "x" * 300000
        await ws.send(big)
        assert await ws.recv() == big
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        await ws.close(code=1000, reason="done")
        print("closed", ws.close_code, flush=True)


async def compressed(url):
    async with websockets.connect(url, compression="deflate") as ws:
        text = "compress me " * 1000
        await ws.send(text)
        assert await ws.recv() == text
        print("extensions", [e.name for e in ws.extensions], flush=True)


async def server_closes(url):
    async with websockets.connect(url) as ws:
        try:
            await asyncio.wait_for(ws.recv(), 30)
        except websockets.ConnectionClosed:
            pass
        await asyncio.wait_for(ws.wait_closed(), 30)
        print("close", ws.close_code, ws.close_reason, flush=True)


async def too_big(url):
    async with websockets.connect(url) as ws:
        await ws.send("y" * 5000)
        try:
            await asyncio.wait_for(ws.recv(), 30)
        except websockets.ConnectionClosed:
            pass
        print("close", ws.close_code, flush=True)


async def quiet_then_talk(url):
    # Silent for a while: the server's pings (answered by websockets itself) keep it alive.
    async with websockets.connect(url, ping_interval=None) as ws:
        await asyncio.sleep(1.0)
        await ws.send("still here")
        assert await ws.recv() == "still here"


async def listen(url):
    # For the hub: says "ready" once connected, then prints each message until the server
    # closes the connection.
    async with websockets.connect(url) as ws:
        print("ready", flush=True)
        try:
            async for message in ws:
                print("got", message, flush=True)
        except websockets.ConnectionClosed:
            pass
        print("close", ws.close_code, flush=True)


async def slow_talk(url):
    async with websockets.connect(url) as ws:
        await asyncio.sleep(0.5)
        await ws.send("late")
        assert await ws.recv() == "late"


SCENARIOS = {
    "echo": echo,
    "compressed": compressed,
    "server_closes": server_closes,
    "too_big": too_big,
    "quiet_then_talk": quiet_then_talk,
    "listen": listen,
    "slow_talk": slow_talk,
}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]](sys.argv[2]))
    print("ok", flush=True)
