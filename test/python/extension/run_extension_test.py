#!/usr/bin/python3
"""balrog_python_add_module() for find_package(balrog) users: installs this build into a
scratch prefix, builds test/python/extension (a pybind11 module on balrog) against it, and
uses the module from greenlets next to the installed balrog package.

    run_extension_test.py --build-dir BUILD --work-dir DIR --cxx g++
"""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHECK = r'''
import time
import balrog
import fetcher

started = time.monotonic()
gs = [balrog.spawn(fetcher.slow_double, i, 200) for i in range(10)]
assert [g.join() for g in gs] == [i * 2 for i in range(10)]
gs = [balrog.spawn(fetcher.blocking_triple, i, 200) for i in range(10)]
assert [g.join() for g in gs] == [i * 3 for i in range(10)]
assert time.monotonic() - started < 2.0, "the calls did not overlap"
try:
    fetcher.times_out()
except TimeoutError:
    pass
else:
    raise AssertionError("balrog::timeout_error did not become TimeoutError")
t0 = time.monotonic()
try:
    with balrog.Timeout(0.05):
        fetcher.slow_double(1, 5000)
except balrog.Timeout:
    pass
assert time.monotonic() - t0 < 2.0
assert balrog.run(fetcher.slow_double, 21, 1) == 42
seen = []
fetcher.count_in_fiber(seen.append, 5)
balrog.sleep(0.01)  # the last call runs after the fiber's last turn
assert seen == [0, 1, 2, 3, 4], seen
print("extension module ok")
'''


def run(cmd, **kw):
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--cxx", required=True)
    a = p.parse_args()
    work = Path(a.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    prefix, build = work / "prefix", work / "build"
    run(["cmake", "--install", a.build_dir, "--prefix", prefix], stdout=subprocess.DEVNULL)
    run(["cmake", "-S", HERE, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug",
         "-DCMAKE_CXX_COMPILER=" + a.cxx, "-DCMAKE_PREFIX_PATH=" + str(prefix)])
    run(["cmake", "--build", build, "-j", "2"])
    packages = next(prefix.glob("lib/python3*/dist-packages"))
    env = dict(os.environ, PYTHONPATH="%s:%s" % (packages, build), PYTHONDONTWRITEBYTECODE="1")
    run(["/usr/bin/python3", "-c", CHECK], env=env, cwd=work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
