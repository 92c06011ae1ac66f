#!/usr/bin/python3
"""Postgres from Python: 100 concurrent callers on 10 connections, one driver per process.

    pg_clients.py --driver balrog|asyncpg|psycopg2-gevent|psycopg3-async --conninfo "..."
                  --query select1|pk [--clients 100] [--connections 10]
                  [--warm-up S] [--seconds S]

Closed loops: each caller sends its next query when the previous one answered. The callers
share the connections the way each library does it:
  balrog           balrog.pg, 100 greenlets; caller i uses autocommit connection i % 10 (the
                   statements of greenlets sharing a connection are pipelined);
  asyncpg          bench/pg/asyncpg_peer.py (shared with area `pg`): uvloop, create_pool(10),
                   100 tasks, pool.fetchval per query (acquire, query, asyncpg's reset
                   script on release: two round trips per query);
  psycopg2-gevent  psycopg2 with psycogreen's gevent wait callback, 100 greenlets, a gevent queue
                   of 10 connections (acquire per query);
  psycopg3-async   psycopg.AsyncConnection, 100 tasks, an asyncio queue of 10 connections
                   (acquire per query), default asyncio loop.
asyncpg, balrog and psycopg 3 run prepared statements (their statement caches); psycopg2
sends the query text with the value inlined (it has no server-side prepare).
Prints "queries Q seconds S cpu_s C connect_s X" (cpu_s: this process over the counted window).
"""
import argparse
import random
import resource
import sys
import time
from pathlib import Path

SELECT1 = "SELECT 1"
PK_PERCENT = "SELECT abalance FROM pgbench_accounts WHERE aid = %s"
ACCOUNTS = 100_000


def cpu_now():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def report(completed_at_start, completed_at_end, seconds, cpu, connect_s):
    print("queries %d seconds %.6f cpu_s %.6f connect_s %.6f"
          % (completed_at_end - completed_at_start, seconds, cpu, connect_s), flush=True)


class Window:
    """Warm-up, then a counted window: measure() with a blocking-style `sleep` (greenlets),
    measure_async() from a coroutine."""

    def __init__(self, args, sleep=None):
        self.args, self.sleep, self.completed, self.stop = args, sleep, 0, False

    def measure(self, connect_s):
        self.sleep(self.args.warm_up)
        start = self._mark()
        self.sleep(self.args.seconds)
        self._finish(start, connect_s)

    async def measure_async(self, connect_s):
        import asyncio

        await asyncio.sleep(self.args.warm_up)
        start = self._mark()
        await asyncio.sleep(self.args.seconds)
        self._finish(start, connect_s)

    def _mark(self):
        return self.completed, time.monotonic(), cpu_now()

    def _finish(self, start, connect_s):
        c1, t1, cpu1 = self._mark()
        self.stop = True
        report(start[0], c1, t1 - start[1], cpu1 - start[2], connect_s)


def run_balrog(args):
    import balrog
    from balrog import pg

    t = time.monotonic()
    conns = [pg.connect(args.conninfo, autocommit=True) for _ in range(args.connections)]
    connect_s = time.monotonic() - t
    w = Window(args, balrog.sleep)

    def caller(i):
        conn = conns[i % len(conns)]
        rnd = random.Random(i)
        while not w.stop:
            if args.query == "select1":
                conn.execute(SELECT1).fetchone()
            else:
                conn.execute(PK_PERCENT, (rnd.randint(1, ACCOUNTS),)).fetchone()
            w.completed += 1

    gs = [balrog.spawn(caller, i) for i in range(args.clients)]
    w.measure(connect_s)
    balrog.joinall(gs)


def run_asyncpg(args):
    # The one asyncpg peer of every benchmark (bench/pg/asyncpg_peer.py): uvloop, a pool of
    # --connections; with more callers than connections, pool.fetchval per query.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pg"))
    import asyncpg_peer

    asyncpg_peer.run(args.conninfo, args.query, args.clients, args.connections, args.warm_up,
                     args.seconds, args.loop)


def run_psycopg2_gevent(args):
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import gevent.queue
    import psycopg2
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
    t = time.monotonic()
    free = gevent.queue.Queue()
    for _ in range(args.connections):
        c = psycopg2.connect(args.conninfo)
        c.autocommit = True
        free.put(c)
    connect_s = time.monotonic() - t
    w = Window(args, gevent.sleep)

    def caller(i):
        rnd = random.Random(i)
        while not w.stop:
            conn = free.get()
            try:
                cur = conn.cursor()
                if args.query == "select1":
                    cur.execute(SELECT1)
                else:
                    cur.execute(PK_PERCENT, (rnd.randint(1, ACCOUNTS),))
                cur.fetchone()
            finally:
                free.put(conn)
            w.completed += 1

    gs = [gevent.spawn(caller, i) for i in range(args.clients)]
    w.measure(connect_s)
    gevent.joinall(gs)


def run_psycopg3_async(args):
    import asyncio

    import psycopg

    async def main():
        t = time.monotonic()
        free = asyncio.Queue()
        for _ in range(args.connections):
            free.put_nowait(await psycopg.AsyncConnection.connect(args.conninfo, autocommit=True))
        connect_s = time.monotonic() - t
        w = Window(args)

        async def caller(i):
            rnd = random.Random(i)
            while not w.stop:
                conn = await free.get()
                try:
                    if args.query == "select1":
                        cur = await conn.execute(SELECT1)
                    else:
                        cur = await conn.execute(PK_PERCENT, (rnd.randint(1, ACCOUNTS),))
                    await cur.fetchone()
                finally:
                    free.put_nowait(conn)
                w.completed += 1

        tasks = [asyncio.create_task(caller(i)) for i in range(args.clients)]
        await w.measure_async(connect_s)
        await asyncio.gather(*tasks)

    asyncio.run(main())


DRIVERS = {
    "balrog": run_balrog,
    "asyncpg": run_asyncpg,
    "psycopg2-gevent": run_psycopg2_gevent,
    "psycopg3-async": run_psycopg3_async,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--driver", choices=sorted(DRIVERS), required=True)
    p.add_argument("--conninfo", required=True)
    p.add_argument("--query", choices=["select1", "pk"], required=True)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--warm-up", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop",
                   help="asyncpg only: its event loop")
    DRIVERS[p.parse_args().driver](p.parse_args())


if __name__ == "__main__":
    main()
