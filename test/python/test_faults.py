"""Faults and bad input: interrupted queries, a dead server connection, Ctrl-C, C++ errors,
threads, fork."""

import os
import signal
import threading
import time

import pytest

import balrog
from balrog import pg


def test_a_greenlet_killed_mid_query_leaves_the_shared_connection_usable(pg_dsn):
    conn = pg.connect(pg_dsn, autocommit=True)
    victim = balrog.spawn(conn.execute, "select pg_sleep(1.5)")
    balrog.sleep(0.05)
    neighbour = balrog.spawn(lambda: conn.execute("select 42").fetchone()[0])  # queued behind
    balrog.sleep(0.05)
    victim.kill()
    # The sleep is not cancelled on the server: with the neighbour's statement in flight behind
    # it, a cancel could land on the neighbour's instead (docs/pg.md, review C2). The neighbour
    # gets its own answer once the sleep ends.
    assert neighbour.join(timeout=10) == 42
    assert conn.execute("select 1").fetchone() == (1,)
    conn.close()


def test_a_timeout_mid_query_raises_and_leaves_the_connection_usable(pg_dsn):
    conn = pg.connect(pg_dsn, autocommit=True)
    started = time.monotonic()
    with pytest.raises(balrog.Timeout):
        with balrog.Timeout(0.1):
            conn.execute("select pg_sleep(5)")
    assert time.monotonic() - started < 4
    assert conn.execute("select 2").fetchone() == (2,)
    conn.close()


def test_a_greenlet_killed_inside_a_transaction(pg_dsn):
    conn = pg.connect(pg_dsn)
    conn.execute("create temp table k (v int)")
    g = balrog.spawn(conn.execute, "insert into k select pg_sleep(5)::text::int")
    balrog.sleep(0.05)
    g.kill()
    conn.rollback()  # the transaction (aborted by the cancel) ends cleanly
    assert conn.execute("select 3").fetchone() == (3,)
    conn.close()


def test_a_server_side_disconnect_fails_only_its_connection(pg_dsn):
    victim = pg.connect(pg_dsn, autocommit=True)
    other = pg.connect(pg_dsn, autocommit=True)
    other.execute("select pg_terminate_backend(%s)", (victim.backend_pid,))
    with pytest.raises(pg.OperationalError):
        victim.execute("select 1")
    assert victim.closed  # then it says so, as psycopg2 does
    with pytest.raises(pg.InterfaceError, match="connection already closed"):
        victim.execute("select 1")
    assert other.execute("select 4").fetchone() == (4,)
    victim.close()
    other.close()


def test_the_pool_replaces_a_connection_the_server_killed(pg_dsn):
    pool = pg.Pool(pg_dsn, max_size=1, autocommit=True)
    with pool.connection() as c:
        pid = c.backend_pid
    with pg.connect(pg_dsn, autocommit=True) as killer:
        killer.execute("select pg_terminate_backend(%s)", (pid,))
    balrog.sleep(0.1)
    with pytest.raises(pg.OperationalError):
        with pool.connection() as c:
            c.execute("select 1")  # the dead one (unless its health check caught it)
    with pool.connection() as c:
        assert c.execute("select 5").fetchone() == (5,)
        assert c.backend_pid != pid


def test_ctrl_c_interrupts_a_query_promptly_and_the_hub_stays_usable(pg_dsn):
    conn = pg.connect(pg_dsn, autocommit=True)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        conn.execute("select pg_sleep(10)")
    assert time.monotonic() - started < 5
    assert conn.execute("select 6").fetchone() == (6,)
    assert balrog.run(lambda: 7) == 7
    conn.close()


def test_cpp_errors_become_python_exceptions():
    hub = balrog.get_hub()
    with pytest.raises(OSError):
        hub.wait_fd(-1, False)
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        hub.wait_fd(r, False, 0.01)  # closed: EBADF from the reactor
    with pytest.raises(RuntimeError, match="already has a hub"):
        balrog._native.Hub()
    with pytest.raises(pg.OperationalError):
        pg.connect("host=/nonexistent/dir port=1")
    with pytest.raises(pg.ProgrammingError, match="missing"):
        pg.connect("this is not a conninfo")
    with pytest.raises(ValueError, match="NaN"):
        balrog.Event().wait(float("nan"))
    assert balrog.run(lambda: "still fine") == "still fine"


def test_a_waiter_used_from_the_wrong_thread_is_refused():
    w = balrog._native.Waiter()
    errors = []

    def other():
        try:
            w.wait(0.01)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], ValueError)


def test_fork_gives_the_child_a_fresh_hub(pg_dsn):
    conn = pg.connect(pg_dsn, autocommit=True)
    side_effects = []
    sleeper = balrog.spawn(lambda: (balrog.sleep(0.3), side_effects.append("parent greenlet")))
    balrog.sleep(0.01)
    parent_hub = balrog.get_hub()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        code = 0
        try:
            os.close(read_end)
            assert balrog.get_hub() is not parent_hub
            assert balrog.run(lambda: (balrog.sleep(0.01), 8)[1]) == 8
            balrog.sleep(0.5)
            assert side_effects == []  # the parent's greenlet does not run here
            with pg.connect(pg_dsn, autocommit=True) as child_conn:
                assert child_conn.execute("select 9").fetchone() == (9,)
            os.write(write_end, b"ok")
        except BaseException as e:  # noqa: BLE001
            os.write(write_end, repr(e).encode()[:500])
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    report = os.read(read_end, 1000)
    os.close(read_end)
    assert report == b"ok" and os.WEXITSTATUS(status) == 0
    sleeper.join()
    assert side_effects == ["parent greenlet"]
    assert conn.execute("select 10").fetchone() == (10,)  # the child did not touch it
    conn.close()
