"""The hub: spawn, join, kill, sleep, Timeout, getcurrent, threads (docs/python.md)."""

import gc
import os
import signal
import subprocess
import sys
import textwrap
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


# --- Python's signal wakeup fd (the hub's signal window) ---------------------------------------
# A signal that CPython's C handler takes after the hub's last PyErr_CheckSignals and before
# its epoll_wait begins interrupts no system call. The hub installs its loop's wake-up pipe as
# Python's signal wakeup fd so that such a signal still ends the wait. The child processes
# below preload preload/signal_before_wait.c, which raises the signal right before the hub's
# next wait that may block: every time, not once in a blue moon.

_WAKEUP_PRELUDE = """
import ctypes, os, signal, socket, sys, threading, time
import balrog
from balrog import _hub

class Woken(Exception):
    pass

def handler(signo, frame):
    raise Woken  # from the hub: thrown into the main greenlet, where balrog.sleep waits

signal.signal(signal.SIGUSR1, handler)
arm = ctypes.CDLL(None).balrog_test_signal_before_next_wait

def peek_wakeup_fd():
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd

def sleep_with_a_signal_before_the_wait(cap=5.0):
    balrog.sleep(0)  # the hub exists and has taken a turn
    arm(signal.SIGUSR1)
    started = time.monotonic()
    try:
        balrog.sleep(cap)
    except Woken:
        return time.monotonic() - started
    return None  # the handler did not run while the hub slept
"""


def _run_child(body):
    library = os.environ.get("BALROG_TEST_SIGNAL_BEFORE_WAIT")
    assert library, "run through ctest: BALROG_TEST_SIGNAL_BEFORE_WAIT names the preload library"
    env = dict(os.environ, LD_PRELOAD=library)
    script = _WAKEUP_PRELUDE + textwrap.dedent(body)
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout


def test_a_signal_handled_just_before_the_hub_sleeps_still_wakes_it():
    out = _run_child("""
        took = sleep_with_a_signal_before_the_wait(5.0)
        assert took is not None, "the handler never ran while the hub slept"
        assert took < 1.0, f"woken after {took:.3f} s: by the sleep's timer, not the signal"
        took = sleep_with_a_signal_before_the_wait(5.0)  # again: the pipe was drained
        assert took is not None and took < 1.0, took
        print("ok")
    """)
    assert out.strip() == "ok"


def test_the_hub_chains_a_wakeup_fd_installed_before_it_and_restores_it_on_close():
    out = _run_child("""
        theirs, their_end = socket.socketpair()
        theirs.setblocking(False)
        their_end.setblocking(False)
        signal.set_wakeup_fd(their_end.fileno())
        took = sleep_with_a_signal_before_the_wait(5.0)
        assert took is not None and took < 1.0, took
        ours = peek_wakeup_fd()
        assert ours not in (-1, their_end.fileno()), ours
        # The signal's number was passed on to theirs (an asyncio loop reads it there).
        assert theirs.recv(16) == bytes([signal.SIGUSR1])
        _hub.get_hub().close()
        assert peek_wakeup_fd() == their_end.fileno()
        print("ok")
    """)
    assert out.strip() == "ok"


def test_closing_the_hub_leaves_a_wakeup_fd_installed_after_it():
    out = _run_child("""
        balrog.sleep(0)
        ours = peek_wakeup_fd()
        assert ours >= 0, ours
        r, w = os.pipe()
        os.set_blocking(w, False)
        assert signal.set_wakeup_fd(w) == ours
        _hub.get_hub().close()
        assert peek_wakeup_fd() == w  # theirs stays
        signal.set_wakeup_fd(-1)
        hub = _hub.Hub()  # a new hub installs its own again, and restores -1 when closed
        assert peek_wakeup_fd() >= 0
        hub.close()
        assert peek_wakeup_fd() == -1
        print("ok")
    """)
    assert out.strip() == "ok"


def test_only_the_main_threads_hub_sets_the_wakeup_fd():
    out = _run_child("""
        t = threading.Thread(target=balrog.sleep, args=(0,))
        t.start()
        t.join()
        assert peek_wakeup_fd() == -1  # the thread's hub did not touch it
        balrog.sleep(0)
        assert peek_wakeup_fd() >= 0
        print("ok")
    """)
    assert out.strip() == "ok"


def test_a_forked_child_gets_the_wakeup_fd_from_before_the_hub_back():
    out = _run_child("""
        r, w = os.pipe()
        os.set_blocking(w, False)
        signal.set_wakeup_fd(w)
        balrog.sleep(0)
        assert peek_wakeup_fd() not in (-1, w)
        pid = os.fork()
        if pid == 0:
            ok = peek_wakeup_fd() == w  # the parent's hub was abandoned here
            balrog.sleep(0)  # the child's own hub
            ok = ok and peek_wakeup_fd() not in (-1, w)
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert status == 0, status
        print("ok")
    """)
    assert out.strip() == "ok"


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
