#!/usr/bin/python3
"""e2e_c_openssl (issue 15 §3, §4): a plain C OpenSSL server and client, as written and
rewritten by balrog_wrap() onto the compat layer's C face.

  check_c_openssl.py --server-plain <bin> --server-balrog <bin> --client-plain <bin>
                     --client-balrog <bin> --sources <dir> --rewritten <dir> --work-dir <dir>
                     [--connections 5]

Makes a self-signed certificate for "localhost" with the openssl command and checks:
  - the rewritten sources (balrog_wrap's mirror) call the C face and are C: balrog_SSL_set_fd
    (server), balrog_BIO_new_socket (client), balrog_getaddrinfo, balrog_accept /
    balrog_connect, balrog_run_main, with <balrog/compat/c/openssl.h>; no C++ (no "::", no .hpp
    include); the sources as written call none of them;
  - the four pairings (server as written / rewritten x client as written / rewritten) all
    succeed, every connection verified the certificate, exchanged its lines and ended with both
    close_notify alerts, and the servers' outputs are identical, as are the clients';
  - the rewritten client really runs its TLS on a fiber: under gdb, stopped at its first
    balrog_BIO_new_socket, balrog_on_fiber() is 1.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "support"))
from certificate import make_localhost_certificate  # noqa: E402 (test/e2e/support)
from server_and_client import run_server_and_client  # noqa: E402 (test/e2e/support)


def fail(msg):
    sys.exit("e2e_c_openssl: FAIL: " + msg)


def run_pair(server, client, cert, key, work, connections):
    port_file = os.path.join(work, "port")
    try:
        srv, cli = run_server_and_client(
            [server, cert, key, port_file, str(connections)], port_file,
            lambda port: [client, "localhost", port, cert, str(connections)])
    except RuntimeError as e:
        fail(str(e))
    name = f"{os.path.basename(server)} + {os.path.basename(client)}"
    if srv.returncode != 0 or cli.returncode != 0:
        fail(f"{name}: server exited {srv.returncode}, client {cli.returncode}\n"
             f"{srv.stderr}{cli.stderr}")
    return srv.stdout, cli.stdout


def check_sources(sources, rewritten):
    wanted = {
        "server.c": ("balrog_SSL_set_fd(", "balrog_getaddrinfo(", "balrog_accept(",
                     "balrog_run_main(", "#include <balrog/compat/c/openssl.h>"),
        "client.c": ("balrog_BIO_new_socket(", "balrog_getaddrinfo(", "balrog_connect(",
                     "balrog_run_main(", "#include <balrog/compat/c/openssl.h>"),
    }
    for name, names in wanted.items():
        with open(os.path.join(sources, name)) as f:
            original = f.read()
        role = name[:-len(".c")]
        with open(os.path.join(rewritten, f"c_openssl_{role}_balrog", "src", name)) as f:
            text = f.read()
        for n in names:
            if n not in text:
                fail(f"the rewritten {name} does not contain {n!r}:\n{text}")
            if n in original:
                fail(f"{name} as written already contains {n!r}")
        cxx = re.search(r"::|\.hpp\b|\[&\]", re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S))
        if cxx:
            fail(f"the rewritten {name} contains C++ ({cxx.group(0)!r})")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    for role in ("server", "client"):
        for build in ("plain", "balrog"):
            ap.add_argument(f"--{role}-{build}", required=True)
    ap.add_argument("--sources", required=True, help="src/ as written")
    ap.add_argument("--rewritten", required=True,
                    help="balrog_wrap's mirror: <dir>/c_openssl_<role>_balrog/src/<role>.c")
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("--connections", type=int, default=5)
    args = ap.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)

    check_sources(args.sources, args.rewritten)
    cert, key = make_localhost_certificate(args.work_dir)
    n = args.connections
    runs = {}
    for s in ("plain", "balrog"):
        for c in ("plain", "balrog"):
            runs[(s, c)] = run_pair(getattr(args, f"server_{s}"), getattr(args, f"client_{c}"),
                                    cert, key, args.work_dir, n)
    srv_ref, cli_ref = runs[("plain", "plain")]
    want_srv = re.compile(r"^connection \d+: TLSv1\.3( \| (ALPHA|BETA|GAMMA) \d+){3} \| 3 lines "
                          r"\| SSL_shutdown 1$")
    want_cli = re.compile(r"^client \d+: TLSv1\.3 verify=ok \| 1:ALPHA \d+ \| 2:BETA \d+ "
                          r"\| 3:GAMMA \d+ \| close_notify$")
    if len(srv_ref.splitlines()) != n or not all(want_srv.match(l) for l in srv_ref.splitlines()):
        fail("the server as written did not serve every connection as expected:\n" + srv_ref)
    if len(cli_ref.splitlines()) != n or not all(want_cli.match(l) for l in cli_ref.splitlines()):
        fail("the client as written did not complete every connection as expected:\n" + cli_ref)
    for (s, c), (srv_out, cli_out) in runs.items():
        if srv_out != srv_ref:
            fail(f"server {s}, client {c}: the server's output differs from the plain pair's:\n"
                 f"{srv_out}--- plain:\n{srv_ref}")
        if cli_out != cli_ref:
            fail(f"server {s}, client {c}: the client's output differs from the plain pair's:\n"
                 f"{cli_out}--- plain:\n{cli_ref}")

    # On a fiber: the rewritten client against the plain server, under gdb, stopped at its
    # first balrog_BIO_new_socket.
    port_file = os.path.join(args.work_dir, "port")
    try:
        _, gdb = run_server_and_client(
            [args.server_plain, cert, key, port_file, "1"], port_file,
            lambda port: ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex",
                          "break balrog_BIO_new_socket", "-ex", "run", "-ex",
                          "print (int) balrog_on_fiber()", "-ex", "delete", "-ex", "continue",
                          "--args", args.client_balrog, "localhost", port, cert, "1"])
    except RuntimeError as e:
        fail(str(e))
    if not re.search(r"^\$1 = 1$", gdb.stdout, re.M):
        fail("the rewritten client's balrog_BIO_new_socket did not run on a fiber:\n" +
             gdb.stdout + gdb.stderr)
    if "close_notify" not in gdb.stdout:
        fail("under gdb the rewritten client did not finish:\n" + gdb.stdout + gdb.stderr)
    print(f"PASS: {n} TLS connections in each of 4 pairings (C, as written / rewritten), "
          f"identical outputs; the rewritten client's TLS on a fiber")
    return 0


if __name__ == "__main__":
    sys.exit(main())
