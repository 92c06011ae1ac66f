"""The balrog.pg pools of the backend: one per thread (a pool belongs to its thread's hub) and
per set of connection parameters."""

from __future__ import annotations

from typing import Any

from balrog import pg
from balrog._hub import get_hub

__all__ = ["pool_for", "shared_for", "close_for_database", "close_all"]

# (id of the thread's hub, the connection parameters) -> (the hub, its pool). The hub is kept
# so that its id is not reused while the entry lives.
_pools: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[Any, pg.Pool, str]] = {}

# The same key -> (the hub, the thread's shared autocommit connection, the database).
_shared: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[Any, pg.Connection, str]] = {}

POOL_OPTIONS = ("min_size", "max_size", "timeout", "max_lifetime", "max_idle")


def _database(conn_params: dict[str, Any]) -> str:
    return str(conn_params.get("database") or conn_params.get("dbname") or "")


def shared_for(conn_params: dict[str, Any]) -> pg.Connection:
    """The calling thread's autocommit connection for these parameters, which the greenlets of
    the thread share (balrog.pg pipelines their statements); made again if it was closed."""
    hub = get_hub()
    key = (id(hub), tuple(sorted((k, repr(v)) for k, v in conn_params.items())))
    entry = _shared.get(key)
    if entry is None or entry[1].closed:
        entry = (hub, pg.connect(**conn_params, autocommit=True), _database(conn_params))
        _shared[key] = entry
    return entry[1]


def pool_for(conn_params: dict[str, Any], pool_options: dict[str, Any]) -> pg.Pool:
    """The calling thread's pool for these connection parameters, made on first use."""
    unknown = set(pool_options) - set(POOL_OPTIONS)
    if unknown:
        raise ValueError(f"unknown pool options {sorted(unknown)}; known: {list(POOL_OPTIONS)}")
    hub = get_hub()
    key = (id(hub), tuple(sorted((k, repr(v)) for k, v in
                                 {**conn_params, **pool_options}.items())))
    entry = _pools.get(key)
    if entry is None:
        entry = (hub, pg.Pool(**conn_params, **pool_options), _database(conn_params))
        _pools[key] = entry
    return entry[1]


def close_for_database(database: str) -> None:
    """Closes the pools of a database (their idle connections go now, borrowed ones when
    given back)."""
    for key, (_, pool, name) in list(_pools.items()):
        if name == database:
            del _pools[key]
            pool.close()
    for key, (_, conn, name) in list(_shared.items()):
        if name == database:
            del _shared[key]
            conn.close()


def close_all() -> None:
    for key, (_, pool, _name) in list(_pools.items()):
        del _pools[key]
        pool.close()
    for key, (_, conn, _name) in list(_shared.items()):
        del _shared[key]
        conn.close()
