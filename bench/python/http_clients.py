#!/usr/bin/python3
"""N concurrent GETs to a server that answers after 100 ms (delay_server.py), one client per
process:

    http_clients.py --client balrog|requests-patched|requests-threads|requests-gevent|aiohttp
                    --url URL [--requests 1000]

balrog: balrog.http.get in N greenlets; requests-patched: requests.get in N greenlets after
balrog.patch(); requests-threads: requests.get on N threads; requests-gevent: requests.get in
N greenlets under gevent's monkey-patching; aiohttp: N tasks on one ClientSession with no
connection limit. A first, smaller round warms up (connections, imports). Prints one line:
"seconds X cpu_s Y ok N" for the measured round (wall time from the first request to the
last answer, the process's CPU time, answers with status 200).
"""
import argparse
import resource
import sys
import time


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def balrog_round(url, n, patched):
    import balrog

    if patched:
        balrog.patch(psycopg2=False, psycopg=False)
        import requests

        get = requests.get
    else:
        from balrog import http

        get = http.get

    def one():
        return get(url, timeout=30).status_code

    def main():
        return [g.join() for g in [balrog.spawn(one) for _ in range(n)]]

    return lambda: balrog.run(main)


def threads_round(url, n):
    import threading

    import requests

    def go():
        out = []

        def one():
            out.append(requests.get(url, timeout=30).status_code)

        ts = [threading.Thread(target=one) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return out

    return go


def gevent_round(url, n):
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import requests

    def go():
        gs = [gevent.spawn(lambda: requests.get(url, timeout=30).status_code) for _ in range(n)]
        gevent.joinall(gs)
        return [g.value for g in gs]

    return go


def aiohttp_round(url, n):
    import asyncio

    import aiohttp

    async def main():
        conn = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=conn) as s:
            async def one():
                async with s.get(url) as r:
                    await r.read()
                    return r.status

            return await asyncio.gather(*(one() for _ in range(n)))

    return lambda: asyncio.run(main())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--client", required=True, choices=["balrog", "requests-patched",
                                                       "requests-threads", "requests-gevent",
                                                       "aiohttp"])
    p.add_argument("--url", required=True)
    p.add_argument("--requests", type=int, default=1000)
    a = p.parse_args()
    n = a.requests

    def make(count):
        if a.client in ("balrog", "requests-patched"):
            return balrog_round(a.url, count, a.client == "requests-patched")
        if a.client == "requests-threads":
            return threads_round(a.url, count)
        if a.client == "requests-gevent":
            return gevent_round(a.url, count)
        return aiohttp_round(a.url, count)

    make(max(n // 10, 1))()  # warm-up
    go = make(n)
    c0, t0 = cpu(), time.perf_counter()
    statuses = go()
    took, used = time.perf_counter() - t0, cpu() - c0
    ok = sum(1 for s in statuses if s == 200)
    print("seconds %.4f cpu_s %.4f ok %d" % (took, used, ok), flush=True)
    if ok != n:
        sys.exit("http_clients: %d of %d requests failed" % (n - ok, n))


if __name__ == "__main__":
    main()
