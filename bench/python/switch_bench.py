#!/usr/bin/python3
"""Greenlet switching and spawning: balrog vs gevent, one library per process.

    switch_bench.py --lib balrog|gevent --case sleep0|spawn [--ops N]

sleep0: two greenlets call sleep(0) in turn, N times each; prints nanoseconds per sleep(0)
(one round trip through the hub: the caller is queued, the other greenlet runs, the hub
switches back). spawn: spawns N greenlets that return at once and joins each; nanoseconds per
spawn + join. Prints one line: "ns_per_op X". balrog comes from PYTHONPATH (the release build).
"""
import argparse
import importlib
import time


def run(lib, case, n):
    """ns per operation with `lib` (balrog or gevent: the same three calls)."""
    if case == "sleep0":
        def loop():
            for _ in range(n):
                lib.sleep(0)

        other = lib.spawn(loop)
        t0 = time.perf_counter()
        loop()
        other.join()
        return (time.perf_counter() - t0) / (2 * n)
    t0 = time.perf_counter()
    for g in [lib.spawn(int) for _ in range(n)]:
        g.join()
    return (time.perf_counter() - t0) / n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", choices=["balrog", "gevent"], required=True)
    p.add_argument("--case", choices=["sleep0", "spawn"], required=True)
    p.add_argument("--ops", type=int, default=200_000)
    a = p.parse_args()
    lib = importlib.import_module(a.lib)
    run(lib, a.case, max(a.ops // 20, 100))  # warm-up
    print("ns_per_op %.1f" % (1e9 * run(lib, a.case, a.ops)))


if __name__ == "__main__":
    main()
