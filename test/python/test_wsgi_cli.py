"""balrog-wsgi (python -m balrog.wsgi): worker processes on one port, restarts, graceful stop,
access log. The command runs as a subprocess on a free loopback port."""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

APP = textwrap.dedent("""
    import os
    import time

    import balrog

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/echo":
            body = environ["wsgi.input"].read()
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return [environ["HTTP_X_FORWARDED_FOR"].encode() + b" " + body]
        if environ["PATH_INFO"] == "/stream":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return (b"part %d\\n" % i for i in range(3))
        if environ["PATH_INFO"] == "/gc":
            import gc
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{gc.get_threshold()[0]} {gc.get_freeze_count() > 0}".encode()]
        if environ["PATH_INFO"] == "/slow":
            time.sleep(1.0)  # patched by balrog-wsgi: only this greenlet waits
        start_response("200 OK", [("Content-Type", "text/plain")])
        patched = balrog.is_patched("time")
        return [f"{os.getpid()} {patched}".encode()]
""")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path="/", timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def wait_until(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def command(tmp_path):
    (tmp_path / "wsgi_cli_app.py").write_text(APP)
    procs = []

    def start(*extra, workers=2):
        port = free_port()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        p = subprocess.Popen(
            [sys.executable, "-m", "balrog.wsgi", "wsgi_cli_app:app", "--bind",
             f"127.0.0.1:{port}", "--workers", str(workers), "--pythonpath", str(tmp_path),
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        procs.append(p)
        wait_until(lambda: get(port)[0] == 200)
        return p, port

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def worker_pids(port, n=40):
    return {get(port)[1].split()[0] for _ in range(n)}


def test_workers_share_the_port_and_are_restarted(command):
    p, port = command(workers=2)
    status, body = get(port)
    assert status == 200 and body.endswith(" True")  # balrog.patch() ran first

    def two_workers(without=None):
        pids = worker_pids(port)
        return pids if len(pids) == 2 and without not in pids else None

    victim = sorted(wait_until(two_workers))[0]
    os.kill(int(victim), signal.SIGKILL)
    # A new worker takes its place: two workers again, the victim not among them.
    wait_until(lambda: two_workers(without=victim))
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "restarting it" in err
    # Access log: Common Log Format, one line per request.
    line = next(l for l in out.splitlines() if '"GET / HTTP/1.1"' in l)
    assert re.match(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
                    r'"GET / HTTP/1\.1" 200 \d+$', line), line


def test_workers_freeze_the_import_and_set_the_gc_threshold(command):
    _, port = command(workers=1)
    assert get(port, "/gc") == (200, "10000 True")  # the default
    _, port = command("--gc-threshold", "700", workers=1)
    assert get(port, "/gc") == (200, "700 True")


def test_sigterm_finishes_the_request_in_flight_then_exits_0(command):
    p, port = command(workers=2)
    result = {}

    def slow():
        result["answer"] = get(port, "/slow")

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.4)  # the request is in the app's sleep
    p.send_signal(signal.SIGTERM)
    t.join(20)
    assert result["answer"][0] == 200
    p.wait(30)
    assert p.returncode == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_an_app_that_cannot_load_stops_the_command(tmp_path):
    port = free_port()
    p = subprocess.run([sys.executable, "-m", "balrog.wsgi", "no_such_module_here:app",
                        "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "No module named 'no_such_module_here'" in p.stderr


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log error;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  client_body_buffer_size 1m;  # bodies stay in memory (nginx's workers may not write {tmp})
  proxy_buffering off;          # answers are passed on as they come
  upstream app {{ server 127.0.0.1:{app_port}; keepalive 4; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
  }}
}}
"""


def test_behind_nginx_as_a_reverse_proxy(command, tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.path.exists(nginx), "nginx is part of the test dependencies (scripts/bootstrap)"
    p, app_port = command(workers=1)
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp_path, app_port=app_port, port=port))
    proxy = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp_path), "-e",
                              str(tmp_path / "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: get(port)[0] == 200)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(3):  # kept alive on both sides
            c.request("POST", "/echo", body=b"x" * 100_000)
            r = c.getresponse()
            assert (r.status, r.read()) == (200, b"127.0.0.1 " + b"x" * 100_000)
        c.request("GET", "/stream")
        r = c.getresponse()
        assert (r.status, r.read()) == (200, b"part 0\npart 1\npart 2\n")
        c.close()
    finally:
        proxy.terminate()
        proxy.wait(10)
