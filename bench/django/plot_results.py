#!/usr/bin/python3
"""Plots a `scripts/bench django` result file: the PNG docs/benchmarks.md shows.

    bench/django/plot_results.py [bench/results/django.json] [--out docs/img/django-bench.png]

The same three panels as `make demo` part 3 (requests/s, p99, server CPU per request; balrog's
servers in red), from the medians of a full run instead of one demo round.
"""

import argparse
import json
from pathlib import Path

from demo import LABELS, parse, plot

ROOT = Path(__file__).resolve().parent.parent.parent


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results", nargs="?", default=str(ROOT / "bench" / "results" / "django.json"))
    p.add_argument("--out", default=str(ROOT / "docs" / "img" / "django-bench.png"))
    args = p.parse_args()
    results = json.loads(Path(args.results).read_text())
    servers, _ = parse(results["cases"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plot(servers, [k for k in LABELS if k in servers], out)
    print(out)


if __name__ == "__main__":
    main()
