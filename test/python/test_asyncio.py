"""asyncio both ways on balrog's loop: asyncpg from sync code (await_), sync balrog code from
an asyncio application (run_sync), and the errors and cancellations across the bridge."""

import asyncio
import time

import asyncpg
import pytest

import balrog
import balrog.asyncio
from balrog import pg


def test_asyncpg_from_sync_code(pg_dsn):
    conn = balrog.await_(asyncpg.connect(_asyncpg_dsn(pg_dsn)))
    assert balrog.await_(conn.fetchval("select 1 + $1::int", 41)) == 42

    def slow(i):
        c = balrog.await_(asyncpg.connect(_asyncpg_dsn(pg_dsn)))
        try:
            return balrog.await_(c.fetchval("select $1::int, pg_sleep(0.2)", i))
        finally:
            balrog.await_(c.close())

    started = time.monotonic()
    gs = [balrog.spawn(slow, i) for i in range(4)]
    assert [g.join(timeout=20) for g in gs] == [0, 1, 2, 3]
    assert time.monotonic() - started < 0.75  # concurrently, not one after another
    with pytest.raises(asyncpg.DivisionByZeroError):
        balrog.await_(conn.fetchval("select 1 / 0"))
    assert balrog.await_(conn.fetchval("select 2")) == 2  # the connection is still fine
    balrog.await_(conn.close())


def _asyncpg_dsn(libpq_dsn):
    parts = dict(p.split("=", 1) for p in libpq_dsn.split())
    return (f"postgresql://{parts['user']}@/{parts['dbname']}"
            f"?host={parts['host']}&port={parts['port']}")


def test_a_killed_greenlet_cancels_its_coroutine():
    cancelled = []

    async def forever():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    g = balrog.spawn(balrog.await_, forever())
    balrog.sleep(0.05)
    g.kill()
    balrog.sleep(0.05)
    assert cancelled == [True]
    assert balrog.await_(asyncio.sleep(0, result="loop alive")) == "loop alive"


async def running_loop():
    return asyncio.get_running_loop()


def test_sync_balrog_code_from_an_asyncio_application(pg_dsn):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        t = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()

        def sync_work(n):
            balrog.sleep(0.05)  # blocking-style, in a greenlet
            with pg.connect(pg_dsn, autocommit=True) as conn:
                row = conn.execute("select %s::int * 2, pg_sleep(0.05)", (n,)).fetchone()
            # await_ inside run_sync runs on the loop that called run_sync
            same_loop = balrog.await_(running_loop()) is loop
            return row[0], same_loop

        results = await asyncio.gather(*(balrog.run_sync(sync_work, n) for n in range(3)))
        t.cancel()
        return results, ticks

    results, ticks = balrog.asyncio.run(main())
    assert results == [(0, True), (2, True), (4, True)]
    assert ticks >= 5  # the asyncio task ran while the greenlets waited


def test_errors_and_cancellation_cross_the_bridge():
    async def main():
        with pytest.raises(ZeroDivisionError):
            await balrog.run_sync(lambda: 1 / 0)
        reached = []

        def sleeper():
            try:
                balrog.sleep(100)
            finally:
                reached.append("unwound")

        task = asyncio.ensure_future(balrog.run_sync(sleeper))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.02)
        return reached

    assert balrog.asyncio.run(main()) == ["unwound"]


def test_misuse_is_a_clear_error():
    async def sync_call_inside_a_coroutine():
        balrog.await_(asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="event loop's own greenlet"):
        balrog.asyncio.run(sync_call_inside_a_coroutine())

    async def on_a_stock_loop():
        await balrog.run_sync(lambda: None)

    with pytest.raises(RuntimeError, match="needs a balrog EventLoop"):
        asyncio.run(on_a_stock_loop())


def test_install_makes_asyncio_run_use_balrog_loops():
    previous = asyncio.get_event_loop_policy()
    balrog.asyncio.install()
    try:
        async def which():
            return type(asyncio.get_running_loop()).__name__, await balrog.run_sync(lambda: "ok")

        assert asyncio.run(which()) == ("EventLoop", "ok")
    finally:
        asyncio.set_event_loop_policy(previous)
