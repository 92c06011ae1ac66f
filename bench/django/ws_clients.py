#!/usr/bin/python3
"""WebSocket clients for scripts/bench django (Debian's python3-websockets, asyncio).

    ws_clients.py --url ws://127.0.0.1:PORT/ws --prefix bench- --clients N

Connects N clients, keyed like the page (the key travels as ?customer=KEY; balrog-wsgi's
--ws-key customer reads the cookie or the query parameter), prints "ready", then for each line
"report" on stdin prints one JSON line: {"KEY": [order ids received], ...} for everything
received so far, and "closed N" if N clients lost their connection. EOF on stdin: exit.
A message is "Order #N will be delivered in M minutes."; N is taken from it.
"""

import argparse
import asyncio
import json
import re
import sys

import websockets

ORDER = re.compile(r"Order #(\d+) ")


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--clients", type=int, required=True)
    args = p.parse_args()
    got = {"%s%d" % (args.prefix, i): [] for i in range(args.clients)}
    closed = []
    conns = []
    for key in got:
        conns.append(await websockets.connect("%s?customer=%s" % (args.url, key),
                                              max_queue=None, ping_interval=None))

    async def reader(key, ws):
        try:
            async for msg in ws:
                m = ORDER.match(msg if isinstance(msg, str) else "")
                got[key].append(int(m.group(1)) if m else -1)
        except websockets.ConnectionClosed:
            pass
        closed.append(key)

    tasks = [asyncio.create_task(reader(k, ws)) for k, ws in zip(got, conns)]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        if line.strip() == "report":
            print(json.dumps(got), flush=True)
            print("closed %d" % len(closed), flush=True)
    for ws in conns:
        await ws.close()
    for t in tasks:
        t.cancel()


if __name__ == "__main__":
    asyncio.run(main())
