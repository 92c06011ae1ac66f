#!/usr/bin/python3
"""The delivery app's Django tests on both database backends (ctest: food_delivery_django_tests).

Starts a throwaway PostgreSQL cluster (scripts/pg-cluster), then runs the example's
`manage.py test delivery` (delivery/tests.py; manage.py calls balrog.patch()) once per backend:
Django's own django.db.backends.postgresql on psycopg2, and balrog's
balrog.django.db.backends.postgresql on balrog.pg, chosen with FOOD_DELIVERY_DB_ENGINE. Each
run is bounded; the cluster is stopped and deleted at exit.

    django_tests.py --pythonpath BUILD/pybridge [--engine stock|balrog ...] [-- TEST LABELS]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.dirname(HERE)
SOURCE_DIR = os.path.dirname(os.path.dirname(EXAMPLE))
PG_CLUSTER = os.path.join(SOURCE_DIR, "scripts", "pg-cluster")
PYTHON = "/usr/bin/python3"
ENGINES = {"stock": "django.db.backends.postgresql",
           "balrog": "balrog.django.db.backends.postgresql"}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pythonpath", required=True, help="the built package (BUILD/pybridge)")
    ap.add_argument("--engine", action="append", choices=sorted(ENGINES),
                    help="a backend to run the tests on (default: both)")
    ap.add_argument("--timeout", type=float, default=240, help="seconds per backend")
    ap.add_argument("labels", nargs="*", default=["delivery"], help="manage.py test labels")
    args = ap.parse_args()
    engines = args.engine or ["stock", "balrog"]
    work = tempfile.mkdtemp(prefix="balrog-food-delivery-tests-")
    os.chmod(work, 0o755)  # the cluster runs as postgres when we are root
    pgdir = os.path.join(work, "pg")
    pg_started = False
    failed = []
    try:
        out = subprocess.run([PG_CLUSTER, "start", pgdir], capture_output=True, text=True,
                             timeout=90)
        if out.returncode != 0:
            print(f"FAIL: pg-cluster start failed:\n{out.stderr}", flush=True)
            return 1
        pg_started = True
        conninfo = dict(kv.split("=", 1) for kv in out.stdout.split())
        log(f"PostgreSQL: {out.stdout.strip()}")
        env = dict(os.environ, PYTHONPATH=os.path.abspath(args.pythonpath),
                   PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1",
                   PGHOST=conninfo["host"], PGPORT=conninfo["port"],
                   PGUSER=conninfo["user"], PGDATABASE=conninfo["dbname"])
        for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
            env.pop(proxy, None)  # the kitchen is on loopback
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env.pop("DJANGO_SETTINGS_MODULE", None)
        for name in engines:
            env["FOOD_DELIVERY_DB_ENGINE"] = ENGINES[name]
            cmd = [PYTHON, "manage.py", "test", "--noinput", "-v", "2"] + args.labels
            log(f"{name}: FOOD_DELIVERY_DB_ENGINE={ENGINES[name]} {' '.join(cmd[1:])}")
            started = time.monotonic()
            try:
                r = subprocess.run(cmd, cwd=EXAMPLE, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=args.timeout)
                report, code = r.stdout, r.returncode
            except subprocess.TimeoutExpired as e:
                report = (e.stdout or b"").decode("utf-8", "replace") if isinstance(
                    e.stdout, bytes) else (e.stdout or "")
                code = f"timeout after {args.timeout} s"
            print(report, flush=True)
            took = time.monotonic() - started
            if code != 0 or "\nOK" not in report:
                failed.append(name)
                log(f"{name}: FAILED ({code}) in {took:.1f} s")
            else:
                log(f"{name}: OK in {took:.1f} s")
    finally:
        if pg_started:
            subprocess.run([PG_CLUSTER, "stop", pgdir], capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        print(f"FAIL: the delivery tests failed on: {', '.join(failed)}", flush=True)
        return 1
    print(f"PASS: the delivery tests passed on: {', '.join(engines)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
