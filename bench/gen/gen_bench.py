#!/usr/bin/python3
"""balrog-gen wall time vs `clang++-16 -fsyntax-only` on the same translation units.

    bench/gen/gen_bench.py --balrog-gen PATH [--rounds N] [--quick] [--tree-dir DIR]

Prints one JSON object per case on stdout, in the shape bench/common/harness.hpp prints
(case, unit, better, balrog, balrog_samples, peer, peer_value, peer_samples, rounds, ...);
scripts/bench collects them, computes ratios and goals and writes bench/results/gen.json.
Standard library only (run it with /usr/bin/python3).

Cases:
  - one per representative TU under bench/gen/tus/ (small, medium, heavy): the wall time of
    one `balrog-gen --passes=... TU -- FLAGS > /dev/null` process (default output mode: the
    unified diff, thrown away) vs one `clang++-16 -fsyntax-only FLAGS TU` process. Both parse
    the same TU with the same flags against the same libstdc++; balrog-gen then runs its
    passes, collects and merges the edits and prints the diff;
  - the generated tree (bench/gen/make_tree.py, 50 TUs by default): `balrog-gen -j 2` over all
    of them in one process vs `xargs -P2 -n1 clang++-16 -fsyntax-only FLAGS` (one clang
    process per TU, two at a time).
Each case: one discarded warm-up run per side (for the tree: one TU per side, to load the
binaries and headers into the page cache), then N rounds alternating balrog-gen and clang,
rotating which goes first. Also recorded per case: CPU time (user + system, from wait4, all
descendants included) and peak RSS of each side.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLANG = "clang++-16"
PASSES = "blocking-calls,sync-types"
FLAGS = ["-std=c++20", "-I/usr/include/postgresql"]

TUS = [
    ("small", "small_socket_client.cpp", "POSIX socket client, C headers only"),
    ("medium", "medium_worker_pool.cpp", "worker pool: <mutex>, <thread>, <iostream>, containers"),
    ("heavy", "heavy_ranges_boost_libpq.cpp", "<ranges> + Boost.Asio/StringAlgo + libpq"),
]


def run_timed(cmd: list, cwd: Path) -> tuple:
    """Runs cmd with stdout and stderr to /dev/null; returns (wall s, cpu s, peak RSS MiB)."""
    with open(os.devnull, "wb") as null:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=null, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-3000:])
        raise SystemExit("gen_bench: %s exited with %d" % (" ".join(cmd[:3]), p.returncode))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def alternate(rounds: int, side_b, side_p, warm_b=None, warm_p=None) -> tuple:
    """One warm-up per side, then `rounds` rounds, alternating and rotating the order."""
    (warm_b or side_b)()
    (warm_p or side_p)()
    b, p = [], []
    for i in range(rounds):
        if i % 2 == 0:
            b.append(side_b())
            p.append(side_p())
        else:
            p.append(side_p())
            b.append(side_b())
    return b, p


def emit(name, unit, better, peer, b, p, note, extra) -> None:
    c = {
        "case": name,
        "unit": unit,
        "better": better,
        "rounds": len(b),
        "warm_up_discarded": True,
        "balrog": statistics.median(x[0] for x in b),
        "balrog_samples": [round(x[0], 4) for x in b],
        "peer": peer,
        "peer_value": statistics.median(x[0] for x in p),
        "peer_samples": [round(x[0], 4) for x in p],
        "cpu_s": round(statistics.median(x[1] for x in b), 4),
        "peer_cpu_s": round(statistics.median(x[1] for x in p), 4),
        "peak_rss_mib": round(statistics.median(x[2] for x in b), 1),
        "peer_peak_rss_mib": round(statistics.median(x[2] for x in p), 1),
    }
    c.update(extra)
    c["note"] = note
    print(json.dumps(c), flush=True)


def build_type(gen: str) -> str:
    """CMAKE_BUILD_TYPE of the build tree balrog-gen came from (<build>/bin/balrog-gen)."""
    cache = Path(gen).parent.parent / "CMakeCache.txt"
    try:
        for line in cache.read_text().splitlines():
            if line.startswith("CMAKE_BUILD_TYPE:"):
                return "%s (%s)" % (line.split("=", 1)[1], cache.parent)
    except OSError:
        pass
    return "unknown"


def preprocessed_lines(tu: Path) -> int:
    r = subprocess.run([CLANG, "-E"] + FLAGS + [str(tu)], capture_output=True, check=True)
    return r.stdout.count(b"\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--balrog-gen", required=True)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--tree-rounds", type=int, default=5)
    ap.add_argument("--tree-count", type=int, default=50)
    ap.add_argument("--tree-dir", default=str(HERE.parent.parent / "build" / "gen-tree"))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rounds = max(args.rounds, 5)
    tree_rounds = max(args.tree_rounds, 5)
    if args.quick:
        rounds, tree_rounds, args.tree_count = 5, 5, 10  # a smoke test, not a result
    built = str(Path(args.balrog_gen).resolve())
    tree = Path(args.tree_dir).resolve()
    # Measure a private copy: other builds may relink the original while this runs. The copy
    # finds the API maps in the source tree (it has no ../share/balrog/maps), and clang's
    # resource directory the same way the original does.
    snapshot = tree.parent / "gen-bench-bin" / "balrog-gen"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(built, snapshot)
    gen = str(snapshot)
    # No .balrog.yaml applies to bench/gen or to the tree (looked up from each file upwards):
    # the passes and their built-in maps are chosen on the command line.
    tus_dir = HERE / "tus"
    tools = {
        "balrog_gen_binary": built,
        "balrog_gen_build": build_type(built),
        "passes": PASSES,
        "clang": subprocess.run([CLANG, "--version"], capture_output=True, text=True)
        .stdout.splitlines()[0],
    }
    for label, file, what in TUS:
        tu = tus_dir / file
        gen_cmd = [gen, "--passes=" + PASSES, file, "--"] + FLAGS
        clang_cmd = [CLANG, "-fsyntax-only"] + FLAGS + [file]
        b, p = alternate(rounds, lambda: run_timed(gen_cmd, tus_dir),
                         lambda: run_timed(clang_cmd, tus_dir))
        emit(
            "wall time per TU, %s (%s)" % (label, file),
            "s",
            "lower",
            "clang++-16 -fsyntax-only, same TU and flags",
            b,
            p,
            "one process per run, wall time from spawn to exit. balrog-gen: `balrog-gen "
            "--passes=%s "
            "%s -- %s > /dev/null` (default output mode: the unified diff, discarded); peer: "
            "`clang++-16 -fsyntax-only %s %s`. TU: %s, %d lines after preprocessing."
            % (PASSES, file, " ".join(FLAGS), " ".join(FLAGS), file, what,
               preprocessed_lines(tu)),
            dict(tools, tu="bench/gen/tus/" + file),
        )

    subprocess.run([sys.executable, str(HERE / "make_tree.py"), str(tree), "--count",
                    str(args.tree_count)], check=True, stdout=subprocess.DEVNULL)
    files = sorted(p.name for p in tree.glob("tu_*.cpp"))
    gen_cmd = [gen, "--passes=" + PASSES, "-j", "2"] + files + ["--"] + FLAGS
    # xargs reads the TU list from files.txt (-a), not from stdin.
    (tree / "files.txt").write_text("\n".join(files) + "\n")
    xargs_cmd = ["xargs", "-a", "files.txt", "-P2", "-n1", CLANG, "-fsyntax-only"] + FLAGS

    b, p = alternate(
        tree_rounds,
        lambda: run_timed(gen_cmd, tree),
        lambda: run_timed(xargs_cmd, tree),
        warm_b=lambda: run_timed([gen, "--passes=" + PASSES, files[0], "--"] + FLAGS, tree),
        warm_p=lambda: run_timed([CLANG, "-fsyntax-only"] + FLAGS + [files[0]], tree),
    )
    emit(
        "wall time, -j2 over a generated tree of %d TUs" % len(files),
        "s",
        "lower",
        "xargs -P2 -n1 clang++-16 -fsyntax-only",
        b,
        p,
        "the %d TUs bench/gen/make_tree.py writes (deterministic mixes of blocking-call and "
        "sync-type code on everyday std headers; a few with <ranges>, Boost.StringAlgo, libpq). "
        "balrog-gen: one process, `balrog-gen --passes=%s -j 2 tu_*.cpp -- %s > /dev/null`; "
        "peer: one clang++-16 -fsyntax-only process per TU, two at a time (xargs -P2). "
        "Warm-up: one TU per side." % (len(files), PASSES, " ".join(FLAGS)),
        dict(tools, tus=len(files), tree=str(tree)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
