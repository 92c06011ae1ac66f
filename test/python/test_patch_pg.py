"""balrog.patch() for psycopg2 and psycopg 3: same results and errors as unpatched, and
greenlets run while one waits on the server."""

import time

import psycopg
import psycopg2
import psycopg2.errors
import pytest

import balrog


@pytest.fixture
def patched():
    balrog.patch()
    yield
    balrog.unpatch()


def run_batch(connect, n=4):
    """n greenlets, each on its own connection, each sleeping 0.2 s on the server."""
    def work(i):
        conn = connect()
        try:
            cur = conn.cursor()
            cur.execute("select %s::int, pg_sleep(0.2)", (i,))
            return cur.fetchone()[0]
        finally:
            conn.close()

    started = time.monotonic()
    gs = [balrog.spawn(work, i) for i in range(n)]
    return [g.join() for g in gs], time.monotonic() - started


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_queries_run_concurrently_only_when_patched(pg_dsn, driver):
    connect = (lambda: psycopg2.connect(pg_dsn)) if driver == "psycopg2" else (
        lambda: psycopg.connect(pg_dsn))
    results, unpatched = run_batch(connect)
    assert results == [0, 1, 2, 3] and unpatched >= 0.75  # one after another
    balrog.patch()
    try:
        results, patched_time = run_batch(connect)
    finally:
        balrog.unpatch()
    assert results == [0, 1, 2, 3] and patched_time < 0.6


def check_same_outcomes(connect):
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute("select 1, 'x', null, 2.5::float8, array[1,2]")
        rows = cur.fetchall()
        try:
            cur.execute("select 1 / 0")
            error = None
        except Exception as e:  # noqa: BLE001
            error = (type(e), getattr(e, "pgcode", None) or getattr(e, "sqlstate", None))
        conn.rollback()
        return rows, error
    finally:
        conn.close()


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_results_and_errors_match_unpatched(pg_dsn, driver):
    mod = psycopg2 if driver == "psycopg2" else psycopg
    connect = lambda: mod.connect(pg_dsn)  # noqa: E731
    unpatched = check_same_outcomes(connect)
    balrog.patch()
    try:
        patched = balrog.run(check_same_outcomes, connect)
    finally:
        balrog.unpatch()
    assert patched == unpatched
    assert unpatched[1] == (mod.errors.DivisionByZero, "22012")


def test_psycopg3_connect_timeout_matches(patched):
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect("host=127.0.0.1 port=1 connect_timeout=2")


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_a_greenlet_killed_mid_query_leaves_the_others_alone(pg_dsn, patched, driver):
    mod = psycopg2 if driver == "psycopg2" else psycopg
    victim_conn = mod.connect(pg_dsn)
    other_conn = mod.connect(pg_dsn)

    def slow():
        victim_conn.cursor().execute("select pg_sleep(5)")

    def fine():
        cur = other_conn.cursor()
        cur.execute("select pg_sleep(0.1), 42")
        return cur.fetchone()[1]

    victim = balrog.spawn(slow)
    other = balrog.spawn(fine)
    balrog.sleep(0.05)
    started = time.monotonic()
    victim.kill()
    assert time.monotonic() - started < 2
    assert other.join(timeout=5) == 42
    # The killed greenlet's connection is either closed (psycopg2 closes a connection whose wait
    # callback raised) or still usable after a rollback/cancel; it is never silently wrong.
    if not victim_conn.closed:
        try:
            victim_conn.cancel()
        except Exception:  # noqa: BLE001,S110
            pass
        victim_conn.rollback()
        cur = victim_conn.cursor()
        cur.execute("select 7")
        assert cur.fetchone()[0] == 7
    victim_conn.close()
    other_conn.close()


def test_psycopg3_connection_shared_by_greenlets(pg_dsn, patched):
    conn = psycopg.connect(pg_dsn, autocommit=True)

    def work(i):
        return conn.execute("select %s::int, pg_sleep(0.01)", (i,)).fetchone()[0]

    gs = [balrog.spawn(work, i) for i in range(5)]
    assert sorted(g.join(timeout=10) for g in gs) == [0, 1, 2, 3, 4]
    conn.close()
