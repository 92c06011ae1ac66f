"""A test server that writes its port to a file once listening, and a client run against it
(the e2e OpenSSL pairs)."""
import os
import subprocess
import time


def _announced(port_file):
    if not os.path.exists(port_file):
        return False
    with open(port_file) as f:
        return f.read().endswith("\n")


def run_server_and_client(server_argv, port_file, client_argv_for_port, start_timeout=30,
                          client_timeout=120, server_timeout=60):
    """Starts server_argv, which writes its port and a newline to port_file once it listens;
    runs client_argv_for_port(port) against it; then waits for the server. A server still
    running when this returns or raises is killed.

    Returns (server, client), each a subprocess.CompletedProcess with text stdout and stderr.
    Raises RuntimeError when the server exits, or has not written its port within
    start_timeout seconds."""
    if os.path.exists(port_file):
        os.remove(port_file)
    srv = subprocess.Popen(server_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        deadline = time.monotonic() + start_timeout
        while not _announced(port_file):
            if srv.poll() is not None or time.monotonic() > deadline:
                srv.kill()
                _, err = srv.communicate()
                raise RuntimeError(f"{server_argv[0]} did not start: {err}")
            time.sleep(0.02)
        with open(port_file) as f:
            port = f.read().strip()
        cli = subprocess.run(client_argv_for_port(port), capture_output=True, text=True,
                             timeout=client_timeout)
        out, err = srv.communicate(timeout=server_timeout)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    return subprocess.CompletedProcess(server_argv, srv.returncode, out, err), cli
