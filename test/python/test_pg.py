"""balrog.pg: PEP 249 on balrog::pg — cursors, transactions, errors, pipelining, the pool."""

import threading
import time

import pytest

import balrog
from balrog import pg


def test_module_globals_follow_pep_249():
    assert pg.apilevel == "2.0"
    assert pg.paramstyle == "pyformat"
    assert pg.threadsafety == 1
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
                 "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):
        assert issubclass(getattr(pg, name), Exception)
    assert issubclass(pg.IntegrityError, pg.DatabaseError)
    assert issubclass(pg.DatabaseError, pg.Error)
    assert pg.NUMBER == 23 and pg.STRING == 25 and pg.DATETIME == 1184 and pg.BINARY == 17


def test_cursor_execute_fetch_and_description(autoconn):
    cur = autoconn.cursor()
    assert cur.execute("select n, n * 2 as twice from generate_series(1, 5) n") is cur
    assert [c.name for c in cur.description] == ["n", "twice"]
    assert cur.description[0].type_code == pg.NUMBER
    assert cur.rowcount == 5
    assert cur.fetchone() == (1, 2)
    assert cur.fetchmany(2) == [(2, 4), (3, 6)]
    assert cur.fetchall() == [(4, 8), (5, 10)]
    assert cur.fetchone() is None
    assert list(autoconn.execute("select 1 union all select 2")) == [(1,), (2,)]


def test_statements_without_rows(autoconn):
    cur = autoconn.execute("create temp table t (id int primary key, v text)")
    assert cur.description is None
    cur = autoconn.execute("insert into t values (1, 'a'), (2, 'b')")
    assert cur.rowcount == 2 and cur.statusmessage == "INSERT 0 2"
    with pytest.raises(pg.ProgrammingError, match="no results to fetch"):
        cur.fetchone()
    cur.executemany("insert into t values (%s, %s)", [(3, "c"), (4, "d"), (5, "e")])
    assert cur.rowcount == 3
    assert autoconn.execute("update t set v = 'z' where id > %s", (2,)).rowcount == 3


def test_placeholders(autoconn):
    assert autoconn.execute("select %s, %s", (1, "a")).fetchone() == (1, "a")
    assert autoconn.execute("select %(x)s, %(y)s, %(x)s", {"x": 1, "y": 2}).fetchone() == (1, 2, 1)
    assert autoconn.execute("select 100 %% 7, %s", (1,)).fetchone() == (2, 1)
    assert autoconn.execute("select '%'").fetchone() == ("%",)  # no params: % is plain
    with pytest.raises(pg.ProgrammingError, match="2 placeholders but 1 parameter"):
        autoconn.execute("select %s, %s", (1,))
    with pytest.raises(pg.ProgrammingError, match="missing"):
        autoconn.execute("select %(x)s", {"y": 1})
    with pytest.raises(pg.ProgrammingError, match="placeholders are allowed"):
        autoconn.execute("select %d", (1,))
    with pytest.raises(pg.ProgrammingError, match="can't adapt type 'object'"):
        autoconn.execute("select %s", (object(),))


def test_errors_carry_sqlstate_and_map_to_pep_249_classes(autoconn):
    autoconn.execute("create temp table u (id int primary key)")
    autoconn.execute("insert into u values (1)")
    with pytest.raises(pg.IntegrityError) as e:
        autoconn.execute("insert into u values (1)")
    assert e.value.sqlstate == "23505" and e.value.pgcode == "23505"
    assert "already exists" in (e.value.diag.message_detail or "")
    with pytest.raises(pg.DataError) as e:
        autoconn.execute("select 1 / 0")
    assert e.value.sqlstate == "22012"
    with pytest.raises(pg.ProgrammingError) as e:
        autoconn.execute("selec 1")
    assert e.value.sqlstate == "42601"
    with pytest.raises(pg.QueryCanceledError):
        autoconn.execute("set statement_timeout = '10ms'; select pg_sleep(1)")
    autoconn.execute("set statement_timeout = 0")
    assert autoconn.execute("select 1").fetchone() == (1,)  # the connection is still fine


def test_transactions_commit_and_rollback(pg_dsn, conn):
    conn.execute("create table tx_test (v int)")
    conn.commit()
    conn.execute("insert into tx_test values (1)")
    assert conn.in_transaction
    conn.rollback()
    assert not conn.in_transaction
    conn.execute("insert into tx_test values (2)")
    with pg.connect(pg_dsn, autocommit=True) as other:
        assert other.execute("select count(*) from tx_test").fetchone() == (0,)  # not yet
        conn.commit()
        assert other.execute("select v from tx_test").fetchall() == [(2,)]
        other.execute("drop table tx_test")


def test_an_error_aborts_the_transaction_until_rollback(conn):
    with pytest.raises(pg.DataError):
        conn.execute("select 1 / 0")
    with pytest.raises(pg.InternalError) as e:
        conn.execute("select 1")
    assert e.value.sqlstate == "25P02"
    conn.rollback()
    assert conn.execute("select 1").fetchone() == (1,)


def test_autocommit_switch_and_context_manager(pg_dsn):
    c = pg.connect(pg_dsn)
    c.execute("select 1")
    with pytest.raises(pg.ProgrammingError, match="in a transaction"):
        c.autocommit = True
    c.rollback()
    c.autocommit = True
    c.execute("select 1")
    assert not c.in_transaction
    c.close()
    with pytest.raises(pg.InterfaceError):
        c.execute("select 1")
    c.close()  # twice: nothing
    with pg.connect(pg_dsn) as c2:
        c2.execute("create temp table cm (v int)")
    assert c2.closed


def test_isolation_level_and_read_only(conn):
    conn.isolation_level = "serializable"
    conn.read_only = True
    assert conn.execute("show transaction_isolation").fetchone() == ("serializable",)
    with pytest.raises(pg.InternalError):  # 25006 read_only_sql_transaction
        conn.execute("create temp table ro (v int)")
    conn.rollback()


def test_greenlets_sharing_a_connection_are_pipelined(pg_dsn):
    # Each statement takes 20 ms on the server; on a far server pipelining saves the round
    # trips. Here: they all run, in order, and each gets its own result and its own error.
    conn = pg.connect(pg_dsn, autocommit=True)

    def work(n):
        if n == 3:
            with pytest.raises(pg.DataError):
                conn.execute("select 1 / 0")
            return "failed alone"
        return conn.execute("select %s::int * 10", (n,)).fetchone()[0]

    gs = [balrog.spawn(work, n) for n in range(8)]
    assert [g.join() for g in gs] == [0, 10, 20, "failed alone", 40, 50, 60, 70]
    conn.close()


def test_greenlets_share_the_connections_transaction(pg_dsn):
    conn = pg.connect(pg_dsn)
    conn.execute("create temp table shared_tx (v int)")
    balrog.joinall([balrog.spawn(conn.execute, "insert into shared_tx values (%s)", (n,))
                    for n in range(5)])
    assert conn.execute("select count(*) from shared_tx").fetchone() == (5,)
    conn.rollback()
    conn.close()


def test_many_greenlets_make_progress_while_one_waits_on_the_server(pg_dsn):
    conn = pg.connect(pg_dsn, autocommit=True)
    slow = balrog.spawn(conn.execute, "select pg_sleep(0.3)")
    ticks = 0
    started = time.monotonic()
    while not slow.ready:
        balrog.sleep(0.01)
        ticks += 1
    assert ticks >= 5 and time.monotonic() - started < 10
    conn.close()


def test_connect_errors(pg_dsn):
    with pytest.raises(pg.OperationalError):
        pg.connect("host=127.0.0.1 port=1 connect_timeout=5")
    with pytest.raises(pg.OperationalError):
        pg.connect(pg_dsn, dbname="no_such_database")


def test_notifications(pg_dsn, autoconn):
    autoconn.execute("listen ch")
    assert autoconn.notifies(timeout=0.01) is None
    with pg.connect(pg_dsn, autocommit=True) as other:
        other.execute("notify ch, 'hello'")
    n = autoconn.notifies(timeout=5)
    assert n.channel == "ch" and n.payload == "hello" and n.pid > 0


def test_pool_borrows_returns_and_limits(pg_dsn):
    pool = pg.Pool(pg_dsn, max_size=2, timeout=0.2)
    with pool.connection() as c:
        c.execute("create table pool_t (v int)")
    inside = []

    def work(n):
        with pool.connection() as c:
            inside.append(c.backend_pid)
            c.execute("insert into pool_t values (%s)", (n,))
            balrog.sleep(0.01)

    balrog.joinall([balrog.spawn(work, n) for n in range(6)])
    assert len(set(inside)) <= 2
    with pool.connection() as c:
        assert c.execute("select count(*) from pool_t").fetchone() == (6,)
        c.execute("drop table pool_t")
    a, b = pool.getconn(), pool.getconn()
    with pytest.raises(pg.PoolTimeout):
        pool.getconn()
    pool.putconn(a)
    pool.putconn(b, discard=True)
    stats = pool.stats()
    assert stats["acquire_timeouts"] == 1 and stats["open"] <= 2


def test_pool_rolls_back_what_a_borrower_left_open(pg_dsn):
    pool = pg.Pool(pg_dsn, max_size=1)
    c = pool.getconn()
    c.execute("create temp table left_open (v int)")  # opens a transaction
    pool.putconn(c)
    with pool.connection() as c2:
        assert not c2.in_transaction
        with pytest.raises(pg.ProgrammingError):
            c2.execute("select * from left_open")  # rolled back: the table never existed
        c2.rollback()  # the failed statement aborted c2's own transaction


def test_a_connection_belongs_to_its_thread(pg_dsn, autoconn):
    errors = []

    def other_thread():
        try:
            autoconn.execute("select 1")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert len(errors) == 1 and "thread" in str(errors[0])
    assert autoconn.execute("select 1").fetchone() == (1,)


def test_each_thread_connects_on_its_own_hub(pg_dsn):
    results = []

    def worker():
        with pg.connect(pg_dsn, autocommit=True) as c:
            gs = [balrog.spawn(c.execute, "select %s::int", (n,)) for n in range(5)]
            results.append(sorted(g.join().fetchone()[0] for g in gs))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[0, 1, 2, 3, 4]] * 3
