#!/usr/bin/python3
"""The asyncpg peer of bench_pg_client (area `pg`): N callers, each on its own connection.

    asyncpg_client.py --conninfo "host=DIR port=N user=postgres dbname=postgres"
                      --query select1|pk --clients N [--connections N] [--loop uvloop|asyncio]
                      [--warm-up S] [--seconds S]

asyncpg as its users run it (bench/pg/asyncpg_peer.py, shared with bench/python/pg_clients.py):
uvloop, a pool of N, each caller holding one connection, prepared statements (asyncpg's cache).
Prints the same line as bench_pg_client: "queries Q seconds S cpu_s C connect_s X".
"""
import argparse

import asyncpg_peer

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    asyncpg_peer.add_arguments(ap)
    ap.add_argument("--warm-up", type=float, default=0.3)
    ap.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    asyncpg_peer.run(a.conninfo, a.query, a.clients, a.connections, a.warm_up, a.seconds, a.loop)
