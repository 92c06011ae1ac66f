#!/usr/bin/python3
"""The asyncpg peer of bench_pg_client: N coroutines, each with its own asyncpg connection.

    asyncpg_client.py --conninfo "host=DIR port=N user=postgres dbname=postgres"
                      --query select1|pk --clients N [--warm-up S] [--seconds S]

Default asyncio event loop (uvloop is not installed). asyncpg prepares every statement it is
given (its own statement cache), so both queries run as prepared statements, like the other
clients. Prints the same line as bench_pg_client: "queries Q seconds S cpu_s C connect_s X",
cpu_s being this process's CPU time (resource.getrusage RUSAGE_SELF) over the counted window.
"""
import argparse
import asyncio
import random
import resource
import time

import asyncpg

SELECT1 = "SELECT 1"
PK = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
ACCOUNTS = 100_000


def cpu_now():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def parse_conninfo(s):
    return dict(kv.split("=", 1) for kv in s.split())


async def main(args):
    ci = parse_conninfo(args.conninfo)
    t_connect = time.monotonic()
    conns = await asyncio.gather(
        *[
            asyncpg.connect(
                host=ci["host"], port=int(ci["port"]), user=ci["user"], database=ci["dbname"]
            )
            for _ in range(args.clients)
        ]
    )
    connect_s = time.monotonic() - t_connect
    state = {"completed": 0, "stop": False}

    async def worker(conn, seed):
        rnd = random.Random(seed)
        if args.query == "select1":
            while not state["stop"]:
                await conn.fetchval(SELECT1)
                state["completed"] += 1
        else:
            while not state["stop"]:
                await conn.fetchval(PK, rnd.randint(1, ACCOUNTS))
                state["completed"] += 1

    tasks = [asyncio.create_task(worker(c, i)) for i, c in enumerate(conns)]
    await asyncio.sleep(args.warm_up)
    q0, cpu0, t0 = state["completed"], cpu_now(), time.monotonic()
    await asyncio.sleep(args.seconds)
    q1, cpu1, t1 = state["completed"], cpu_now(), time.monotonic()
    state["stop"] = True
    await asyncio.gather(*tasks)
    await asyncio.gather(*[c.close() for c in conns])
    print(
        "connect_s %.9g cpu_s %.9g queries %d seconds %.9g"
        % (connect_s, cpu1 - cpu0, q1 - q0, t1 - t0),
        flush=True,
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--conninfo", required=True)
    ap.add_argument("--query", choices=["select1", "pk"], required=True)
    ap.add_argument("--clients", type=int, required=True)
    ap.add_argument("--warm-up", type=float, default=0.3)
    ap.add_argument("--seconds", type=float, default=2.0)
    asyncio.run(main(ap.parse_args()))
