"""Stock Django 3.2 (Debian python3-django) served by balrog-wsgi: a view that queries
PostgreSQL through Django's own psycopg2 backend, patched by balrog.patch() (psycopg2 waits in
the hub).

Requests are sent one at a time: Django keeps its connections in asgiref.local.Local, keyed by
threading.current_thread(), which balrog.patch() does not make per-greenlet yet, so
concurrent requests of one worker would share one psycopg2 connection (docs/python.md, "WSGI
server")."""

import http.client
import json
import os
import socket
import subprocess
import sys
import textwrap
import time

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
    "ENGINE": "django.db.backends.postgresql",
    "NAME": {name!r}, "USER": {user!r}, "HOST": {host!r}, "PORT": {port!r},
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
    with connection.cursor() as cur:
        cur.execute("select %s::int * 2, pg_backend_pid()", [n])
        doubled, pid = cur.fetchone()
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


def test_django_view_with_a_db_query_under_balrog_wsgi(pg_dsn, tmp_path):
    dsn = psycopg2_extensions.parse_dsn(pg_dsn)
    site = tmp_path / "djsite"
    site.mkdir()
    (site / "__init__.py").write_text("")
    (site / "settings.py").write_text(SETTINGS.format(
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
        # closed (request_finished), so every request had a new backend.
        assert len(pids) == 5
    finally:
        p.terminate()
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
    assert p.returncode == 0, err
