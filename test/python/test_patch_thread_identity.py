"""balrog.patch(): thread identity is per greenlet (threading.get_ident, _thread.get_ident,
threading.current_thread), as under gevent's monkey-patching, so code that keys state on the
current thread (asgiref.local.Local, which keeps Django's connections) keeps it per greenlet.
Each check next to what the unpatched modules do."""

import _thread
import gc
import os
import threading

import pytest
from asgiref.local import Local

import balrog
from balrog.patching import _threading


@pytest.fixture
def patched():
    balrog.patch()
    yield
    balrog.unpatch()


def write_then_read(n):
    """n greenlets each store their own value in an asgiref Local, all wait until every one
    has written, then read back; returns what each read and the thread name each saw."""
    store = Local(thread_critical=True)
    written = 0

    def work(i):
        nonlocal written
        store.value = i
        written += 1
        while written < n:
            balrog.sleep(0)
        return store.value, threading.current_thread().name

    return [g.join() for g in [balrog.spawn(work, i) for i in range(n)]]


def test_asgiref_local_is_shared_by_greenlets_unpatched():
    results = write_then_read(3)
    assert [value for value, _ in results] == [2, 2, 2]  # the last write, seen by all
    assert {name for _, name in results} == {"MainThread"}


def test_asgiref_local_is_per_greenlet_patched(patched):
    results = write_then_read(3)
    assert [value for value, _ in results] == [0, 1, 2]
    names = [name for _, name in results]
    assert len(set(names)) == 3 and "MainThread" not in names


def idents_seen(n):
    def work():
        first = (threading.get_ident(), _thread.get_ident(), threading.current_thread())
        balrog.sleep(0.01)  # other greenlets run in between
        second = (threading.get_ident(), _thread.get_ident(), threading.current_thread())
        return first, second

    return [g.join() for g in [balrog.spawn(work) for _ in range(n)]]


def test_get_ident_is_distinct_per_greenlet_and_stable_within_one(patched):
    main = threading.get_ident()
    seen = idents_seen(5)
    for first, second in seen:
        assert first == second  # stable across switches
        assert first[0] == first[1] == first[2].ident  # the three agree
    idents = {first[0] for first, _ in seen}
    assert len(idents) == 5 and main not in idents
    threads = [first[2] for first, _ in seen]
    assert all(not t.is_alive() for t in threads)  # their greenlets have ended
    assert all(t.daemon == threading.main_thread().daemon for t in threads)
    with pytest.raises(RuntimeError):
        threads[0].join()


def test_unpatched_greenlets_share_the_threads_identity():
    seen = idents_seen(3)
    assert {first[0] for first, _ in seen} == {threading.get_ident()}
    assert {first[2] for first, _ in seen} == {threading.main_thread()}


def test_main_greenlet_keeps_the_real_threads_identity(patched):
    assert threading.get_ident() == _thread.get_ident() == _threading._real_get_ident()
    assert threading.current_thread() is threading.main_thread()

    def in_a_thread():
        # The main greenlet of another real thread: that thread's own identity and object.
        return threading.get_ident(), threading.current_thread(), balrog.run(
            lambda: threading.get_ident())

    result = []
    t = threading.Thread(target=lambda: result.append(in_a_thread()))
    t.start()
    t.join()
    ident, thread, in_greenlet = result[0]
    assert ident == t.ident and thread is t
    assert in_greenlet not in (t.ident, threading.main_thread().ident)


def test_unpatch_restores_thread_identity():
    real = (threading.get_ident, _thread.get_ident, threading.current_thread)
    balrog.patch()
    assert threading.get_ident is not real[0] and threading.current_thread is not real[2]
    balrog.unpatch()
    assert (threading.get_ident, _thread.get_ident, threading.current_thread) == real
    assert balrog.run(threading.get_ident) == threading.get_ident()
    assert balrog.run(threading.current_thread) is threading.main_thread()


def test_dummy_threads_do_not_accumulate(patched):
    def count():
        gc.collect()
        return sum(isinstance(o, _threading._GreenletThread) for o in gc.get_objects())

    before, active = count(), len(threading._active)
    greenlets = [balrog.spawn(lambda: threading.current_thread().name) for _ in range(1000)]
    names = {g.join() for g in greenlets}
    assert len(names) == 1000
    del greenlets
    assert count() == before
    assert len(threading._active) == active  # never registered there


def test_fork_in_a_greenlet_keeps_the_childs_main_thread_real(patched):
    # threading's after-fork handler finds the forking thread by get_ident(): it must see the
    # real thread, not the greenlet, or the child's main_thread() gets the greenlet's ident.
    def fork_and_report():
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            ok = (threading.main_thread().ident == _threading._real_get_ident()
                  and threading.get_ident is _threading.get_ident)
            os.write(w, b"1" if ok else b"0")
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        with os.fdopen(r, "rb") as f:
            return f.read()

    assert balrog.spawn(fork_and_report).join() == b"1"
    assert threading.get_ident is _threading.get_ident  # put back in the parent too


def test_a_greenlets_end_is_its_threads_end(patched):
    # The thread-end hooks run in each ending greenlet that took a thread identity (returned,
    # raised or killed), before join() returns; not in one that never asked for its thread.
    from balrog import _greenlet

    assert _threading._close_django_connections in _greenlet.thread_end_hooks
    ended = []

    def hook():
        ended.append(threading.current_thread().name)

    def failing():
        threading.current_thread()
        raise ValueError("boom")

    def waiting():
        threading.current_thread()
        balrog.sleep(10)

    _greenlet.thread_end_hooks.append(hook)
    try:
        took = balrog.spawn(lambda: threading.current_thread().name)
        assert took.join() in ended
        plain = balrog.spawn(lambda: 1)
        assert plain.join() == 1 and len(ended) == 1
        bad = balrog.spawn(failing)
        with pytest.raises(ValueError):
            bad.join()
        assert len(ended) == 2
        killed = balrog.spawn(waiting)
        balrog.sleep(0)
        killed.kill()
        assert len(ended) == 3 and len(set(ended)) == 3
    finally:
        _greenlet.thread_end_hooks.remove(hook)
    balrog.unpatch()
    assert _threading._close_django_connections not in _greenlet.thread_end_hooks


def test_a_greenlets_django_connections_close_when_it_ends(patched, tmp_path):
    # Django keeps a connection per thread, so per greenlet here; CONN_MAX_AGE would keep it
    # open for that thread's next request, which never comes: closed when the greenlet ends.
    # (A file, not ":memory:": Django never closes an in-memory SQLite database.)
    pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(DATABASES={"default": {
            "ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3"),
            "CONN_MAX_AGE": None}})
    from django.db import connections

    def query():
        wrapper = connections["default"]
        with wrapper.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
        assert wrapper.connection is not None
        return wrapper

    wrappers = [g.join() for g in [balrog.spawn(query) for _ in range(3)]]
    assert len({id(w) for w in wrappers}) == 3  # one per greenlet
    assert all(w.connection is None for w in wrappers)
