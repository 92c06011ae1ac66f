"""Locks, conditions, semaphores, events and queues: greenlet-aware, with threading's API and
errors (each behaviour checked against the threading / queue module's own)."""

import queue
import threading
import time

import pytest

import balrog


@pytest.mark.parametrize("make", [threading.Lock, balrog.Lock])
def test_lock_api_and_errors_match_threading(make):
    lock = make()
    assert lock.acquire() is True
    assert lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(timeout=0.01) is False
    with pytest.raises(ValueError, match="can't specify a timeout for a non-blocking call"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match="timeout value must be positive"):
        lock.acquire(True, -2)
    lock.release()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()


def test_lock_suspends_only_the_greenlet():
    lock = balrog.Lock()
    log = []

    def worker(n):
        with lock:
            log.append(("in", n))
            balrog.sleep(0.01)
            log.append(("out", n))

    gs = [balrog.spawn(worker, n) for n in range(3)]
    ticks = 0
    while not all(g.ready for g in gs):
        balrog.sleep(0.001)
        ticks += 1
    assert ticks > 3  # the main greenlet ran while they waited
    for i in range(0, 6, 2):
        assert log[i][0] == "in" and log[i + 1] == ("out", log[i][1])


def test_a_killed_lock_waiter_leaves_the_queue():
    lock = balrog.Lock()
    lock.acquire()
    first = balrog.spawn(lock.acquire)
    second = balrog.spawn(lambda: (lock.acquire(), lock.release(), "second")[2])
    balrog.sleep(0.01)
    first.kill()
    lock.release()  # goes to `second`, not to the killed waiter
    assert second.join(timeout=5) == "second"
    assert first.value is None and not lock.locked()


def test_a_waiter_woken_as_its_timeout_passes_passes_the_wake_on():
    lock = balrog.Lock()
    lock.acquire()
    first = balrog.spawn(lock.acquire, timeout=0.05)
    second = balrog.spawn(lock.acquire, timeout=5)
    balrog.sleep(0.01)
    balrog.get_hub().sleep(0.05)  # let first's deadline pass without running the hub's round
    lock.release()
    results = {first.join(), second.join()}
    assert True in results  # whoever did not get it passed it on, nobody lost it
    assert lock.locked()


@pytest.mark.parametrize("make", [threading.RLock, balrog.RLock])
def test_rlock_api_and_errors_match_threading(make):
    lock = make()
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        lock.release()
    assert lock.acquire() and lock.acquire()
    lock.release()
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()


def test_rlock_belongs_to_a_greenlet():
    lock = balrog.RLock()
    lock.acquire()
    other = balrog.spawn(lock.acquire, timeout=0.02)
    assert other.join() is False  # another greenlet of the same thread may not take it
    lock.release()


@pytest.mark.parametrize("cond_type", [threading.Condition, balrog.Condition])
def test_condition_errors_match_threading(cond_type):
    lock = threading.RLock() if cond_type is threading.Condition else balrog.RLock()
    cond = cond_type(lock)
    with pytest.raises(RuntimeError, match="cannot wait on un-acquired lock"):
        cond.wait(0.01)
    with pytest.raises(RuntimeError, match="cannot notify on un-acquired lock"):
        cond.notify()
    with cond:
        assert cond.wait(0.01) is False
        assert cond.wait_for(lambda: 7, 0.01) == 7


def test_condition_wait_and_notify_between_greenlets():
    cond = balrog.Condition()
    items = []

    def consumer():
        with cond:
            cond.wait_for(lambda: items)
            return items.pop()

    g = balrog.spawn(consumer)
    balrog.sleep(0.01)
    with cond:
        items.append("x")
        cond.notify()
    assert g.join(timeout=5) == "x"


def test_condition_wait_interrupted_by_a_timeout_still_holds_the_lock():
    cond = balrog.Condition(balrog.Lock())
    with cond:
        with pytest.raises(balrog.Timeout):
            with balrog.Timeout(0.01):
                cond.wait()
        assert cond._lock.locked()


@pytest.mark.parametrize("module", [threading, balrog])
def test_semaphores_match_threading(module):
    sem = module.Semaphore(2)
    assert sem.acquire() and sem.acquire()
    assert sem.acquire(False) is False
    assert sem.acquire(timeout=0.01) is False
    with pytest.raises(ValueError):
        sem.acquire(False, 1)
    sem.release(2)
    with pytest.raises(ValueError, match="semaphore initial value must be >= 0"):
        module.Semaphore(-1)
    bounded = module.BoundedSemaphore(1)
    with pytest.raises(ValueError, match="Semaphore released too many times"):
        bounded.release()


def test_semaphore_limits_concurrency_of_greenlets():
    sem = balrog.Semaphore(2)
    active, peak = [0], [0]

    def worker():
        with sem:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            balrog.sleep(0.005)
            active[0] -= 1

    balrog.joinall([balrog.spawn(worker) for _ in range(8)])
    assert peak[0] == 2


@pytest.mark.parametrize("module", [threading, balrog])
def test_event_matches_threading(module):
    ev = module.Event()
    assert ev.is_set() is False
    assert ev.wait(0.01) is False
    ev.set()
    assert ev.wait() is True and ev.wait(0) is True
    ev.clear()
    assert ev.is_set() is False


def test_event_wakes_every_waiting_greenlet():
    ev = balrog.Event()
    gs = [balrog.spawn(ev.wait) for _ in range(5)]
    balrog.sleep(0.01)
    assert not any(g.ready for g in gs)
    ev.set()
    assert [g.join(timeout=5) for g in gs] == [True] * 5


@pytest.mark.parametrize("make", [queue.Queue, balrog.Queue])
def test_queue_matches_the_queue_module(make):
    q = make(maxsize=1)
    q.put(1)
    assert q.full() and q.qsize() == 1
    with pytest.raises(queue.Full):
        q.put(2, timeout=0.01)
    with pytest.raises(queue.Full):
        q.put_nowait(2)
    assert q.get() == 1
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    q.put(3)
    q.get()
    q.task_done()
    q.task_done()
    q.join()
    with pytest.raises(ValueError, match="task_done\\(\\) called too many times"):
        q.task_done()


@pytest.mark.parametrize("make", [queue.SimpleQueue, balrog.SimpleQueue])
def test_simple_queue_matches_the_queue_module(make):
    q = make()
    q.put(1)
    assert q.get() == 1
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)


def test_queue_between_greenlets_and_threads():
    q = balrog.Queue()
    out = balrog.Queue()

    def echo():
        while (item := q.get()) is not None:
            out.put(item * 2)

    g = balrog.spawn(echo)
    t = threading.Thread(target=lambda: [q.put(i) for i in range(100)] + [q.put(None)])
    t.start()
    assert [out.get(timeout=5) for _ in range(100)] == [i * 2 for i in range(100)]
    g.join(timeout=5)
    t.join()


def test_lock_shared_by_threads_and_greenlets():
    lock = balrog.Lock()
    counter = [0]

    def bump(n):
        for _ in range(n):
            with lock:
                v = counter[0]
                time.sleep(0)  # a real thread switch may happen here
                counter[0] = v + 1

    threads = [threading.Thread(target=bump, args=(200,)) for _ in range(3)]
    for t in threads:
        t.start()
    gs = [balrog.spawn(bump, 200) for _ in range(3)]
    balrog.joinall(gs)
    for t in threads:
        t.join()
    assert counter[0] == 1200
