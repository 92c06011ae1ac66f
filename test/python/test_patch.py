"""balrog.patch(): each patched behaviour next to the unpatched library's own (same results,
same exceptions), plus what patching is for: other greenlets run while one waits."""

import queue
import threading
import time

import pytest

import balrog


@pytest.fixture
def patched():
    balrog.patch()
    yield
    balrog.unpatch()


def concurrently(fn, n):
    """Runs fn(i) in n greenlets; returns (results, seconds)."""
    started = time.monotonic()
    gs = [balrog.spawn(fn, i) for i in range(n)]
    return [g.join() for g in gs], time.monotonic() - started


def test_patch_is_idempotent_and_reversible():
    real_sleep, real_lock = time.sleep, threading.Lock
    balrog.patch()
    balrog.patch()
    assert balrog.is_patched("time") and balrog.is_patched("threading")
    assert time.sleep is not real_sleep and threading.Lock is balrog.Lock
    balrog.unpatch()
    assert time.sleep is real_sleep and threading.Lock is real_lock
    assert not balrog.is_patched("time")


def test_time_sleep_lets_other_greenlets_run(patched):
    _, took = concurrently(lambda i: time.sleep(0.1), 5)
    assert took < 0.35  # unpatched: 0.5 s, one after another


@pytest.mark.parametrize("arg, error",
                         [(-1, ValueError), ("x", TypeError), (float("nan"), ValueError)])
def test_time_sleep_errors_match_the_real_one(arg, error):
    with pytest.raises(error) as real:
        time.sleep(arg)
    balrog.patch(threading=False, psycopg2=False, psycopg=False)
    try:
        with pytest.raises(error) as ours:
            time.sleep(arg)
    finally:
        balrog.unpatch()
    assert str(ours.value) == str(real.value)


def test_threading_primitives_are_greenlet_aware(patched):
    lock = threading.Lock()
    assert isinstance(lock, balrog.Lock)
    order = []

    def holder(i):
        with lock:
            order.append(i)
            time.sleep(0.02)

    _, took = concurrently(holder, 3)
    assert sorted(order) == [0, 1, 2]
    ev = threading.Event()
    cond = threading.Condition()
    got = []

    def waiter(i):
        ev.wait()
        with cond:
            cond.wait_for(lambda: got)
        return i

    gs = [balrog.spawn(waiter, i) for i in range(3)]
    balrog.sleep(0.01)
    ev.set()
    with cond:
        got.append(1)
        cond.notify_all()
    assert [g.join(timeout=5) for g in gs] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        threading.Lock().release()
    rlock = threading.RLock()
    with rlock, rlock:
        pass


def test_threading_local_is_per_greenlet(patched):
    data = threading.local()
    data.x = "main"

    def set_and_read(i):
        assert not hasattr(data, "x")
        data.x = i
        time.sleep(0.01)
        return data.x

    assert concurrently(set_and_read, 3)[0] == [0, 1, 2]
    assert data.x == "main"


def test_threading_local_subclass_init_runs_per_greenlet(patched):
    class Counter(threading.local):
        def __init__(self, start):
            self.value = start

    c = Counter(10)
    c.value += 1
    assert balrog.run(lambda: c.value) == 10
    assert c.value == 11


def test_queue_module_matches_and_cooperates(patched):
    q = queue.Queue(maxsize=1)
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    producer = balrog.spawn(lambda: [q.put(i) for i in range(5)])
    assert [q.get(timeout=5) for _ in range(5)] == list(range(5))
    producer.join()
    sq = queue.SimpleQueue()
    balrog.spawn(sq.put, "x")
    assert sq.get(timeout=5) == "x"


def test_real_threads_still_work_with_patched_primitives(patched):
    results = queue.Queue()
    threads = [threading.Thread(target=lambda i=i: results.put(i * i)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.get(timeout=5) for _ in range(4)) == [0, 1, 4, 9]
