"""The asyncpg peer, one way for every benchmark (bench/pg/asyncpg_client.py for area `pg`,
bench/python/pg_clients.py --driver asyncpg for area `python`).

It runs asyncpg the way its users run it (docs/benchmarks.md, "The asyncpg peer"):
  - on uvloop, installed as the event loop policy (asyncpg's own benchmarks and README use it;
    Debian's python3-uvloop, installed by scripts/bootstrap); `--loop asyncio` for the default;
  - a pool, `asyncpg.create_pool(min_size=connections, max_size=connections)`, every other
    setting at its default (statement cache of 100: every query runs as a prepared statement);
  - callers <= connections: each caller acquires a connection once (`async with
    pool.acquire()`) and runs its queries on it with `conn.fetchval`, as a task that owns a
    connection does;
  - callers > connections: `pool.fetchval` per query, the only way asyncpg lets tasks share
    connections (a connection runs one operation at a time). Each release runs asyncpg's reset
    script (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`), a second
    round trip per query: asyncpg 0.27 has no switch for it (0.30 added `reset=`).
No CPU pinning, no debug mode, no logging; /usr/bin/python3 (Debian's packages).
Prints "queries Q seconds S cpu_s C connect_s X" on stdout (cpu_s: this process, getrusage
RUSAGE_SELF, over the counted window) and one diagnostic line on stderr.
"""
import asyncio
import random
import resource
import sys
import time

SELECT1 = "SELECT 1"
PK = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
ACCOUNTS = 100_000


def cpu_now():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def add_arguments(ap, clients=None, connections=None):
    """The options both scripts take (the callers choose the defaults)."""
    ap.add_argument("--conninfo", required=True)
    ap.add_argument("--query", choices=["select1", "pk"], required=True)
    ap.add_argument("--clients", type=int, required=clients is None, default=clients)
    ap.add_argument("--connections", type=int, default=connections,
                    help="pool size (default: one connection per client)")
    ap.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")


def run(conninfo, query, clients, connections, warm_up, seconds, loop="uvloop"):
    import asyncpg

    connections = connections or clients
    ci = dict(kv.split("=", 1) for kv in conninfo.split())

    async def main():
        t = time.monotonic()
        pool = await asyncpg.create_pool(host=ci["host"], port=int(ci["port"]),
                                         user=ci["user"], database=ci["dbname"],
                                         min_size=connections, max_size=connections)
        connect_s = time.monotonic() - t
        state = {"completed": 0, "stop": False}
        print("asyncpg_peer: asyncpg %s, loop %s, %d callers, pool of %d, %s"
              % (asyncpg.__version__, type(asyncio.get_running_loop()).__module__, clients,
                 connections, "a connection per caller" if clients <= connections
                 else "pool.fetchval per query"), file=sys.stderr, flush=True)

        async def own_connection(i):
            rnd = random.Random(i)
            async with pool.acquire() as conn:
                while not state["stop"]:
                    if query == "select1":
                        await conn.fetchval(SELECT1)
                    else:
                        await conn.fetchval(PK, rnd.randint(1, ACCOUNTS))
                    state["completed"] += 1

        async def shared_pool(i):
            rnd = random.Random(i)
            while not state["stop"]:
                if query == "select1":
                    await pool.fetchval(SELECT1)
                else:
                    await pool.fetchval(PK, rnd.randint(1, ACCOUNTS))
                state["completed"] += 1

        caller = own_connection if clients <= connections else shared_pool
        tasks = [asyncio.create_task(caller(i)) for i in range(clients)]
        await asyncio.sleep(warm_up)
        q0, cpu0, t0 = state["completed"], cpu_now(), time.monotonic()
        await asyncio.sleep(seconds)
        q1, cpu1, t1 = state["completed"], cpu_now(), time.monotonic()
        state["stop"] = True
        await asyncio.gather(*tasks)
        await pool.close()
        print("queries %d seconds %.9g cpu_s %.9g connect_s %.9g"
              % (q1 - q0, t1 - t0, cpu1 - cpu0, connect_s), flush=True)

    if loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main())
