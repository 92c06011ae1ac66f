"""A WebSocket server peer (Python's websockets) for balrog's WebSocket client.

    ws_server.py <scenario>

Listens on 127.0.0.1 on a free port and prints "port N". Scenarios:
  echo     echoes every message; pings every 50 ms (the client must answer to stay open);
           prints "close <code> <reason>" when the client closes.
  close    sends "bye", then closes with 4001 "server says bye".
  reject   refuses the upgrade with 403.
Exits after its first connection ends.
"""
import asyncio
import http
import sys

import websockets

done = None


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    print("close", ws.close_code, ws.close_reason, flush=True)
    done.set_result(None)


async def close(ws):
    await ws.send("bye")
    await ws.close(code=4001, reason="server says bye")
    done.set_result(None)


def reject(path, headers):
    done.set_result(None)
    return (http.HTTPStatus.FORBIDDEN, [], b"no\n")


async def main(scenario):
    global done
    done = asyncio.get_running_loop().create_future()
    kwargs = {"ping_interval": 0.05, "ping_timeout": 5}
    if scenario == "reject":
        kwargs["process_request"] = reject
        handler = echo
    else:
        handler = {"echo": echo, "close": close}[scenario]
    async with websockets.serve(handler, "127.0.0.1", 0, **kwargs) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print("port", port, flush=True)
        await done
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
