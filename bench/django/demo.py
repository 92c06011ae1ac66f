#!/usr/bin/python3
"""balrog demo, part 3: the food-delivery Django order view, balrog-wsgi vs gunicorn.

    bench/django/demo.py --package build/release/pybridge [--out build/release/django-demo]

Runs bench/django/django_bench.py at a small scale (one round of a few seconds per server, so
the whole part takes under a minute), prints one table row per server and writes a PNG plot
(matplotlib) whose path it prints. The servers' and the benchmark's diagnostics go to a log
file (its path is printed too), not between the rows. The numbers are a demo, not a result:
`scripts/bench django` measures (5+ rounds, medians) for docs/benchmarks.md.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import django_bench

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PYTHON = "/usr/bin/python3"

LABELS = {
    "balrog-psycopg2": "balrog-wsgi + psycopg2 (patched)",
    "balrog-backend": "balrog-wsgi + balrog backend",
    "gevent": "gunicorn gevent + psycogreen",
    "gthread": "gunicorn gthread, 32 threads",
}
PLOT_LABELS = {
    "balrog-psycopg2": "balrog-wsgi\npsycopg2 patched",
    "balrog-backend": "balrog-wsgi\nbalrog backend",
    "gevent": "gunicorn gevent\n+ psycogreen",
    "gthread": "gunicorn gthread\n32 threads",
}
# Case names back to servers and metrics: the inverse of how django_bench.py names its cases.
BALROG_SIDES = {side: server for server, side in django_bench.BALROG_SIDES.items()}
PEER_SIDES = {side: server for server, side in django_bench.PEER_SIDES.items()}
METRICS = {name: key for key, name, _unit, _better in django_bench.METRICS}


def parse(records):
    """{server: {rps, p99, cpu, checks}} from django_bench.py's JSON lines."""
    servers = {}
    notes = []
    for rec in records:
        head, metric_vs = rec["case"].split(": ", 1)
        side = head.rsplit(", ", 1)[1]
        metric, peer_side = metric_vs.split(" vs ", 1)
        b, p = BALROG_SIDES[side], PEER_SIDES[peer_side]
        key = METRICS[metric]
        servers.setdefault(b, {})[key] = rec["balrog"]
        servers.setdefault(p, {})[key] = rec["peer_value"]
        if key == "rps":
            servers[b]["checks"] = rec["balrog_checks"]
            servers[p]["checks"] = rec["peer_checks"]
            notes += [n for n in rec.get("notes", []) if n not in notes]
    return servers, notes


def check_text(checks):
    if not checks:
        return "-"
    c = checks[-1]
    rows = "rows %d = 2xx %d" % (c["rows"], c["ok_2xx"])
    if c["rows"] != c["ok_2xx"]:
        rows = "rows %d = 2xx %d + %d of the %d requests wrk abandoned" % (
            c["rows"], c["ok_2xx"], c["rows"] - c["ok_2xx"], c["abandoned"])
    ws = "; WebSocket %d/%d" % (c["ws_received"], c["ws_expected"]) if "ws_expected" in c \
        else "; no WebSocket server"
    return ("ok: " if not c["wrong"] else "WRONG: ") + rows + ws


def fmt(x, spec):
    return "-" if x is None else spec % x


def plot(servers, order, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [PLOT_LABELS[k] for k in order]
    colors = ["#c0392b" if k.startswith("balrog") else "#7f8c8d" for k in order]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, (key, title) in zip(axes, [("rps", "requests/s (higher is better)"),
                                       ("p99", "p99 latency, ms (lower is better)"),
                                       ("cpu", "server CPU per request, ms (lower is better)")]):
        values = [servers[k].get(key) or 0 for k in order]
        bars = ax.bar(range(len(order)), values, color=colors)
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels(names, fontsize=8)
        ax.set_title(title, fontsize=10)
        for bar, v in zip(bars, values):
            ax.annotate("%.0f" % v if v >= 100 else "%.1f" % v,
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    fig.suptitle("food-delivery order view (DB insert, 100 ms kitchen call, WebSocket send), "
                 "wrk -c200, one server process each", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--package", required=True, help="the folder holding the balrog package")
    p.add_argument("--out", default=str(ROOT / "build" / "release" / "django-demo"),
                   help="where the log, the plot and the server logs go")
    p.add_argument("--seconds", type=int, default=4, help="seconds of wrk per server")
    args = p.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "django-demo.log"
    png = out / "django-demo.png"
    print("\nbalrog demo, part 3: stock Django (examples/food-delivery), the order view "
          "(a DB insert,\na 100 ms kitchen call with requests, a WebSocket send) under wrk -c200, "
          "one server process each.", flush=True)
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        r = subprocess.run([PYTHON, str(HERE / "django_bench.py"), "--package", args.package,
                            "--quick", "--seconds", str(args.seconds), "--ws-clients", "50",
                            "--warm-up-connections", "20",
                            "--logdir", str(out / "django-demo-servers")],
                           stdout=subprocess.PIPE, stderr=log, text=True, timeout=300)
    records = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0 or not records:
        print("part 3 FAILED (exit %d): see %s" % (r.returncode, log_path))
        return 1
    servers, notes = parse(records)
    order = [k for k in LABELS if k in servers]
    header = ["server", "requests/s", "p99 ms", "CPU ms/request", "checks (rows vs 2xx, "
              "WebSocket messages)"]
    rows = [[LABELS[k], fmt(servers[k].get("rps"), "%.0f"), fmt(servers[k].get("p99"), "%.0f"),
             fmt(servers[k].get("cpu"), "%.2f"), check_text(servers[k].get("checks"))]
            for k in order]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    g = servers.get("gevent", {})
    for k in ("balrog-psycopg2", "balrog-backend"):
        s = servers.get(k)
        if not s or not g.get("rps") or not g.get("cpu") or not g.get("p99") or not s.get("rps"):
            continue
        ratio = s["rps"] / g["rps"]
        met = ratio >= 1.5 and s["cpu"] <= g["cpu"] and s["p99"] <= g["p99"]
        print("%s: %.2fx gunicorn+gevent's requests/s, CPU per request %.2fx, p99 %.2fx "
              "(goal >= 1.5x at <= CPU, p99 no worse: %s)"
              % (LABELS[k], ratio, s["cpu"] / g["cpu"], s["p99"] / g["p99"],
                 "met" if met else "not met"))
    for n in notes:
        print("note: " + n)
    try:
        plot(servers, order, png)
        print("plot: %s" % png)
    except Exception as e:  # the table stands without the plot
        print("no plot (%s: %s)" % (type(e).__name__, e))
    print("log: %s (%.0f s; one short round per server on this machine: a demo, not a "
          "benchmark; scripts/bench django measures)" % (log_path, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
