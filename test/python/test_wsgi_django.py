"""Stock Django 3.2 (Debian python3-django) served by balrog-wsgi: a view that queries
PostgreSQL through Django's own psycopg2 backend, patched by balrog.patch() (psycopg2 waits in
the hub), one request at a time and then 20 at once; and the same through balrog's backend
(balrog.django.db.backends.postgresql: balrog.pg and its pool). Django keeps its connections
in asgiref.local.Local, keyed by threading.current_thread(), which balrog.patch() makes
per-greenlet: each concurrent request has its own connection, as under threads."""

import http.client
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

django = pytest.importorskip("django")
psycopg2_extensions = pytest.importorskip("psycopg2.extensions")

SETTINGS = """
SECRET_KEY = "balrog-wsgi-test"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djsite.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
USE_TZ = True
DATABASES = {{"default": {{
    "ENGINE": {engine!r},
    "NAME": {name!r}, "USER": {user!r}, "HOST": {host!r}, "PORT": {port!r},
    "OPTIONS": {options!r},
    "CONN_MAX_AGE": {max_age!r},
}}}}
"""

URLS = """
import balrog
import psycopg2.extensions
from django.db import connection
from django.http import JsonResponse
from django.urls import path


def query(request):
    n = int(request.GET["n"])
    sleep = float(request.GET.get("sleep", "0"))
    with connection.cursor() as cur:
        cur.execute("select %s::int * 2, pg_backend_pid(), pg_sleep(%s)", [n, sleep])
        doubled, pid, _ = cur.fetchone()
    return JsonResponse({
        "n": n, "doubled": doubled, "pid": pid,
        "patched": balrog.is_patched("psycopg2"),
        "waits_in_hub": psycopg2.extensions.get_wait_callback() is not None,
    })


urlpatterns = [path("query", query)]
"""

WSGI = """
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsite.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


ENGINES = {
    "stock": ("django.db.backends.postgresql", {}),
    "balrog": ("balrog.django.db.backends.postgresql", {"pool": {"max_size": 20}}),
}


def write_site(tmp_path, pg_dsn, engine, options, max_age=0):
    dsn = psycopg2_extensions.parse_dsn(pg_dsn)
    site = tmp_path / "djsite"
    site.mkdir()
    (site / "__init__.py").write_text("")
    (site / "settings.py").write_text(SETTINGS.format(
        engine=engine, options=options, max_age=max_age,
        name=dsn.get("dbname", "postgres"), user=dsn.get("user", "postgres"),
        host=dsn.get("host", ""), port=dsn.get("port", "")))
    (site / "urls.py").write_text(textwrap.dedent(URLS))
    (site / "wsgi.py").write_text(textwrap.dedent(WSGI))


def start_server(tmp_path):
    """balrog-wsgi (one worker) on the site of tmp_path, its stderr in tmp_path/server.err:
    (the process, its port), once it answers /query?n=0 (asserted 200)."""
    port = free_port()
    with open(tmp_path / "server.err", "w") as err:
        p = subprocess.Popen(
            [sys.executable, "-m", "balrog.wsgi", "djsite.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "1", "--pythonpath", str(tmp_path),
             "--no-access-log"],
            stdout=subprocess.DEVNULL, stderr=err, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.monotonic() + 30
    while True:
        try:
            status, body = get(port, "/query?n=0")
            break
        except ConnectionRefusedError:
            if p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            stop_server(p, tmp_path)
            raise AssertionError("balrog-wsgi did not start: " +
                                 (tmp_path / "server.err").read_text()) from None
    assert status == 200, body
    return p, port


def stop_server(p, tmp_path):
    """Stops balrog-wsgi (SIGTERM); returns its exit status and its stderr."""
    p.terminate()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return p.returncode, (tmp_path / "server.err").read_text()


@pytest.mark.parametrize("backend", ["stock", "balrog"])
def test_django_view_with_a_db_query_under_balrog_wsgi(pg_dsn, tmp_path, backend):
    engine, options = ENGINES[backend]
    write_site(tmp_path, pg_dsn, engine, options)
    p, port = start_server(tmp_path)
    try:
        pids = set()
        for n in range(1, 6):
            status, body = get(port, f"/query?n={n}")
            assert status == 200, body
            reply = json.loads(body)
            assert (reply["n"], reply["doubled"]) == (n, 2 * n)
            assert reply["patched"] and reply["waits_in_hub"]
            pids.add(reply["pid"])
        # CONN_MAX_AGE 0: Django closed each request's connection when the response was
        # closed (request_finished), so every request had a new backend; balrog's backend
        # gave it back to its pool instead, and the next request borrowed it again.
        assert len(pids) == (5 if backend == "stock" else 1)

        # 20 at once, each view's query taking 0.3 s: one worker answers them side by side
        # (6 s one after another), each request greenlet on its own connection.
        concurrent = 20
        started = time.monotonic()
        with ThreadPoolExecutor(concurrent) as pool:
            answers = list(pool.map(lambda n: get(port, f"/query?n={n}&sleep=0.3"),
                                    range(100, 100 + concurrent)))
        took = time.monotonic() - started
        replies = []
        for status, body in answers:
            assert status == 200, body
            replies.append(json.loads(body))
        assert [(r["n"], r["doubled"]) for r in replies] == [
            (n, 2 * n) for n in range(100, 100 + concurrent)]
        assert len({r["pid"] for r in replies}) == concurrent
        assert took < 3, took
    finally:
        returncode, err = stop_server(p, tmp_path)
    assert returncode == 0, err


@pytest.mark.parametrize("max_age", [60, None], ids=["max_age_60", "max_age_forever"])
@pytest.mark.parametrize("backend", ["stock", "balrog"])
def test_conn_max_age_with_a_greenlet_per_request(pg_dsn, tmp_path, backend, max_age):
    """CONN_MAX_AGE > 0 (or None: forever) under balrog-wsgi. Django keeps a thread's
    connection open across its requests then, but every request is a new greenlet, a new
    "thread" for Django, that no later request comes back to: its connection must not stay
    borrowed from balrog's pool (4 connections here: 50 requests one after another, then 50
    at once, all answered, on at most 4 server connections in all) nor stay open on the
    server until the garbage collector finds it (stock Django: no connection left once the
    requests are answered)."""
    app_name = f"balrog-maxage-{backend}"
    engine, options = ENGINES[backend]
    options = dict(options, application_name=app_name)
    pool_size = 4
    if backend == "balrog":
        options["pool"] = {"max_size": pool_size, "timeout": 5}
    write_site(tmp_path, pg_dsn, engine, options, max_age=max_age)
    psycopg2 = pytest.importorskip("psycopg2")
    watcher = psycopg2.connect(pg_dsn)
    watcher.autocommit = True

    def server_connections():
        with watcher.cursor() as cur:
            cur.execute("select count(*) from pg_stat_activity where application_name = %s",
                        [app_name])
            return cur.fetchone()[0]

    p, port = start_server(tmp_path)
    try:
        pids = set()
        most = 0
        for n in range(50):
            status, body = get(port, f"/query?n={n}")
            assert status == 200, (n, body)
            reply = json.loads(body)
            assert reply["doubled"] == 2 * n
            pids.add(reply["pid"])
            # The request that just answered may not have let go of its connection yet (its
            # greenlet ends after the answer left), nor the server have seen it go: some slack.
            most = max(most, server_connections())
        assert most <= pool_size, (most, "server connections during the sequential requests")

        concurrent = 50
        with ThreadPoolExecutor(concurrent) as pool:
            answers = list(pool.map(lambda n: get(port, f"/query?n={n}&sleep=0.05"),
                                    range(1000, 1000 + concurrent)))
        for n, (status, body) in zip(range(1000, 1000 + concurrent), answers):
            assert status == 200, (n, body)
            reply = json.loads(body)
            assert reply["doubled"] == 2 * n
            pids.add(reply["pid"])

        # Once the requests are answered: the pool keeps its connections (at most 4, and
        # no others were ever made); stock Django's were closed as their greenlets ended.
        left = server_connections()
        deadline = time.monotonic() + 5
        while backend == "stock" and left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = server_connections()
        if backend == "balrog":
            assert len(pids) <= pool_size, pids
            assert left <= pool_size, left
        else:
            assert left == 0, (left, "server connections left open by finished requests")
    finally:
        watcher.close()
        returncode, err = stop_server(p, tmp_path)
    assert returncode == 0, err
