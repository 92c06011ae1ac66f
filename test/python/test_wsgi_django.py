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


@pytest.mark.parametrize("backend", ["stock", "balrog"])
def test_django_view_with_a_db_query_under_balrog_wsgi(pg_dsn, tmp_path, backend):
    engine, options = ENGINES[backend]
    dsn = psycopg2_extensions.parse_dsn(pg_dsn)
    site = tmp_path / "djsite"
    site.mkdir()
    (site / "__init__.py").write_text("")
    (site / "settings.py").write_text(SETTINGS.format(
        engine=engine, options=options,
        name=dsn.get("dbname", "postgres"), user=dsn.get("user", "postgres"),
        host=dsn.get("host", ""), port=dsn.get("port", "")))
    (site / "urls.py").write_text(textwrap.dedent(URLS))
    (site / "wsgi.py").write_text(textwrap.dedent(WSGI))
    port = free_port()
    p = subprocess.Popen(
        [sys.executable, "-m", "balrog.wsgi", "djsite.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--pythonpath", str(tmp_path),
         "--no-access-log"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(port, "/query?n=0")
                break
            except ConnectionRefusedError:
                assert p.poll() is None, p.communicate()[1]
                assert time.monotonic() < deadline, "balrog-wsgi did not start"
                time.sleep(0.1)
        assert status == 200, body
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
        p.terminate()
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
    assert p.returncode == 0, err
