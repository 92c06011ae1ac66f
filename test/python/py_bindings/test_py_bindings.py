"""The py-bindings pass end to end: pyb_demo (include/pyb_demo/api.hpp) is built with
balrog_python_module() and imported from the build tree (PYB_DEMO_DIR); its exported
functions run on balrog's runtime while the calling greenlet waits in the hub."""

import datetime
import os
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.environ["PYB_DEMO_DIR"])

import balrog  # noqa: E402
import balrog.asyncio  # noqa: E402
import pyb_demo  # noqa: E402

HERE = os.path.dirname(__file__)


def test_scalars_strings_and_containers():
    assert pyb_demo.add(2, 40) == 42
    assert pyb_demo.greet("world") == "hello world"
    assert pyb_demo.reversed(b"abc") == b"cba"
    assert pyb_demo.count_words(["a", "b", "a"]) == {"a": 2, "b": 1}
    assert pyb_demo.find_index([5, 6, 7], 7) == 2
    assert pyb_demo.find_index([5, 6, 7], 8) is None
    assert pyb_demo.parse("12") == 12
    assert pyb_demo.parse("x") == "x"


def test_chrono():
    assert pyb_demo.nap(datetime.timedelta(milliseconds=5)) == datetime.timedelta(milliseconds=5)
    t = datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert pyb_demo.later(t, datetime.timedelta(seconds=10)) == t + datetime.timedelta(seconds=10)


def test_structs_and_enums():
    p = pyb_demo.point(x=1.5, y=2.0, label="p")
    q = pyb_demo.scale(p, 2.0)
    assert (q.x, q.y, q.label) == (3.0, 4.0, "p*")
    q.label = "renamed"
    assert q.label == "renamed"
    assert pyb_demo.point().label == ""
    assert pyb_demo.next_color(pyb_demo.color.red) == pyb_demo.color.green
    assert pyb_demo.color.blue.name == "blue"


def test_exceptions_keep_their_hierarchy():
    assert issubclass(pyb_demo.not_found, pyb_demo.demo_error)
    assert issubclass(pyb_demo.demo_error, Exception)
    with pytest.raises(pyb_demo.not_found, match="no key"):
        pyb_demo.lookup("key")
    with pytest.raises(pyb_demo.demo_error):
        pyb_demo.lookup("key")


def test_docstrings():
    assert "Adds two integers" in pyb_demo.add.__doc__
    assert "labelled point" in pyb_demo.point.__doc__
    assert "a lookup finds nothing" in pyb_demo.not_found.__doc__


def test_blocking_function_runs_on_a_fiber():
    assert pyb_demo.is_fiber()


def test_two_greenlets_overlap():
    nap = datetime.timedelta(milliseconds=300)
    start = time.monotonic()
    gs = [balrog.spawn(pyb_demo.nap, nap) for _ in range(2)]
    balrog.joinall(gs)
    elapsed = time.monotonic() - start
    assert [g.value for g in gs] == [nap, nap]
    assert elapsed < 0.55, elapsed  # one after the other would take 0.6 s


def test_the_hub_runs_while_a_call_waits():
    ticks = []

    def ticker():
        for _ in range(5):
            ticks.append(time.monotonic())
            balrog.sleep(0.02)

    t = balrog.spawn(ticker)
    pyb_demo.nap(datetime.timedelta(milliseconds=200))
    returned = time.monotonic()
    t.join()
    assert len([tick for tick in ticks if tick < returned]) == 5


def test_coroutine_function_from_greenlets_and_asyncio():
    assert pyb_demo.slow_double(21, 1) == 42
    start = time.monotonic()
    gs = [balrog.spawn(pyb_demo.slow_double, n, 300) for n in range(2)]
    balrog.joinall(gs)
    assert [g.value for g in gs] == [0, 2]
    assert time.monotonic() - start < 0.55

    async def main():
        import asyncio

        return await asyncio.gather(pyb_demo.slow_double_async(1, 200),
                                    pyb_demo.slow_double_async(2, 200))

    start = time.monotonic()
    assert balrog.asyncio.run(main()) == [2, 4]
    assert time.monotonic() - start < 0.38


def test_stub_passes_mypy_strict(tmp_path):
    mypy = shutil.which("mypy", path="/usr/bin")
    if mypy is None:
        pytest.fail("Debian's mypy (/usr/bin/mypy) is needed: apt-get install mypy")
    shutil.copy(os.path.join(os.environ["PYB_DEMO_DIR"], "pyb_demo.pyi"), tmp_path)
    shutil.copy(os.path.join(HERE, "uses_stub.py"), tmp_path)
    out = subprocess.run([mypy, "--strict", "--no-incremental", "--cache-dir", os.devnull,
                          "uses_stub.py"],
                         cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "MYPYPATH": str(tmp_path)})
    assert out.returncode == 0, out.stdout + out.stderr
