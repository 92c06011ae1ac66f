"""The hub: spawn, join, kill, sleep, Timeout, getcurrent, threads (docs/python.md)."""

import gc
import os
import signal
import threading
import time

import greenlet
import pytest

import balrog


def test_spawn_join_returns_values_in_the_order_greenlets_finish():
    order = []

    def work(n):
        balrog.sleep(0.01 * (3 - n))
        order.append(n)
        return n * 10

    gs = [balrog.spawn(work, n) for n in range(3)]
    assert [g.join() for g in gs] == [0, 10, 20]
    assert order == [2, 1, 0]
    assert all(g.ready for g in gs)


def test_run_returns_the_value_and_raises_the_exception():
    assert balrog.run(lambda a, b: a + b, 2, b=3) == 5
    with pytest.raises(ZeroDivisionError):
        balrog.run(lambda: 1 / 0)


def test_spawn_never_switches_and_sleep_zero_is_fifo():
    seen = []
    g1 = balrog.spawn(seen.append, 1)
    g2 = balrog.spawn(seen.append, 2)
    assert seen == []  # nothing ran yet
    balrog.sleep(0)
    assert seen == [1, 2]
    g1.join()
    g2.join()


def test_join_raises_the_greenlet_exception_and_exposes_it():
    def fail():
        balrog.sleep(0)
        raise KeyError("k")

    g = balrog.spawn(fail)
    with pytest.raises(KeyError):
        g.join()
    assert isinstance(g.exception, KeyError)
    assert g.value is None


def test_join_with_timeout_raises_timeout_error_and_leaves_it_running():
    g = balrog.spawn(balrog.sleep, 0.2)
    with pytest.raises(TimeoutError):
        g.join(timeout=0.01)
    assert not g.ready
    g.join()
    assert g.ready


def test_a_greenlet_cannot_join_itself():
    def self_join():
        return balrog.getcurrent().join()

    with pytest.raises(RuntimeError, match="cannot join itself"):
        balrog.run(self_join)


def test_kill_interrupts_a_sleep_and_joins_as_none():
    reached = []

    def sleeper():
        try:
            balrog.sleep(10)
        finally:
            reached.append("finally")

    g = balrog.spawn(sleeper)
    balrog.sleep(0)
    started = time.monotonic()
    g.kill()
    assert time.monotonic() - started < 5
    assert g.ready and g.join() is None and g.exception is None
    assert reached == ["finally"]


def test_kill_before_start_never_runs_the_function():
    ran = []
    g = balrog.spawn(ran.append, 1)
    g.kill()
    assert g.ready and ran == []


def test_kill_with_an_exception_of_our_choice():
    class Stop(Exception):
        pass

    g = balrog.spawn(balrog.sleep, 10)
    balrog.sleep(0)
    g.kill(Stop("now"), block=False)
    with pytest.raises(Stop):
        g.join()


def test_kill_during_a_native_fd_wait_leaves_the_hub_usable():
    r, w = os.pipe()
    try:
        hub = balrog.get_hub()
        g = balrog.spawn(hub.wait_fd, r, False)
        balrog.sleep(0.01)
        g.kill()
        assert g.ready
        # The abandoned wait is cancelled in C++; a new one on the same fd works.
        os.write(w, b"x")
        assert hub.wait_fd(r, False, 5.0) is True
        assert hub.wait_fd(r, False, 0.01) is True  # still readable (not read)
        os.read(r, 1)
        assert hub.wait_fd(r, False, 0.01) is False  # the timeout is a return value
    finally:
        os.close(r)
        os.close(w)


def test_timeout_bounds_every_wait_inside_and_is_the_raised_exception():
    with pytest.raises(balrog.Timeout) as caught:
        with balrog.Timeout(0.02) as t:
            balrog.sleep(5)
    assert caught.value is t
    assert isinstance(caught.value, TimeoutError)
    # A block that ends in time leaves nothing behind for later waits.
    with balrog.Timeout(0.02):
        pass
    balrog.sleep(0.05)


def test_nested_timeouts_the_earliest_fires():
    outer = balrog.Timeout(0.02)
    with pytest.raises(balrog.Timeout) as caught:
        with outer:
            with balrog.Timeout(10):
                balrog.Event().wait()
    assert caught.value is outer


def test_timeout_interrupts_a_native_wait():
    r, w = os.pipe()
    try:
        with pytest.raises(balrog.Timeout):
            with balrog.Timeout(0.02):
                balrog.get_hub().wait_fd(r, False)
    finally:
        os.close(r)
        os.close(w)


def test_getcurrent_is_the_greenlet_object():
    def me():
        return balrog.getcurrent()

    g = balrog.spawn(me)
    assert g.join() is g
    assert balrog.getcurrent() is greenlet.getcurrent()


def test_an_exception_nobody_joined_is_reported_when_collected(capfd):
    g = balrog.spawn(lambda: 1 / 0)
    balrog.sleep(0)
    assert g.ready
    del g
    gc.collect()  # its traceback refers to its frame, which refers to it
    balrog.sleep(0)  # reports are printed by the hub, outside the garbage collector
    err = capfd.readouterr().err
    assert "nobody joined" in err and "ZeroDivisionError" in err


def test_keyboard_interrupt_in_a_greenlet_goes_to_the_main_greenlet():
    def interrupt():
        raise KeyboardInterrupt

    balrog.spawn(interrupt)
    with pytest.raises(KeyboardInterrupt):
        balrog.sleep(1)
    balrog.sleep(0)  # the hub is still fine


def test_sigint_interrupts_a_wait_promptly_and_the_hub_stays_usable():
    threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        balrog.sleep(30)
    assert time.monotonic() - started < 10
    assert balrog.run(lambda: 42) == 42


def test_waiting_inside_the_hub_is_refused():
    previous = signal.signal(signal.SIGUSR1, lambda *a: balrog.sleep(0.01))
    try:
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(RuntimeError, match="inside the hub"):
            balrog.sleep(5)
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_each_thread_has_its_own_hub_and_they_run_side_by_side():
    results = {}

    def in_thread(name):
        def work(n):
            balrog.sleep(0.01)
            return n

        results[name] = (sum(g.join() for g in [balrog.spawn(work, n) for n in range(10)]),
                         balrog.get_hub())

    threads = [threading.Thread(target=in_thread, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    balrog.sleep(0.02)
    for t in threads:
        t.join()
    assert [results[i][0] for i in range(3)] == [45, 45, 45]
    hubs = {id(results[i][1]) for i in range(3)} | {id(balrog.get_hub())}
    assert len(hubs) == 4
    # Each was closed by its own thread as it ended; dropping them here does nothing more.
    assert all(results[i][1].closed for i in range(3))
    results.clear()
    assert balrog.run(lambda: "main hub unharmed") == "main hub unharmed"


def test_an_event_set_from_another_thread_wakes_a_greenlet():
    ev = balrog.Event()
    threading.Timer(0.02, ev.set).start()
    assert ev.wait(5) is True
