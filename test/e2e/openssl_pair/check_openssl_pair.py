#!/usr/bin/env python3
"""e2e_openssl_pair: a plain OpenSSL client/server pair as written and rewritten by balrog-gen.

  check_openssl_pair.py --server-threads <bin> --server-balrog <bin>
                        --client-threads <bin> --client-balrog <bin>
                        --work-dir <dir> [--connections 64] [--hold-ms 1000]

Makes a self-signed certificate for "localhost" with the openssl command, then runs the four
pairings (server as written / rewritten x client as written / rewritten): each server serves
--connections TLS connections, each client opens them at once (a std::thread each, a fiber each
once rewritten). Checks, without wall-clock thresholds:
  - every connection verified the certificate, exchanged its messages and ended with both
    close_notify alerts; the servers' stdouts are identical, and so are the clients';
  - the rewritten server and the rewritten client ran all their connections on one OS thread
    (distinct gettid()s), and the rewritten server had at least 80% of them waiting in SSL_read
    at once (each client waits --hold-ms after the handshake before it sends its first line: a
    server whose SSL_read blocked its one thread would have one at a time).
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "support"))
from certificate import make_localhost_certificate  # noqa: E402 (test/e2e/support)
from server_and_client import run_server_and_client  # noqa: E402 (test/e2e/support)


def stats_of(stderr):
    found = re.search(r"^stats: (.*)$", stderr, re.M)
    return dict(kv.split("=", 1) for kv in found.group(1).split()) if found else None


def run_pair(server, client, args, cert, key, work):
    port_file = os.path.join(work, "port")
    try:
        srv, cli = run_server_and_client(
            [server, "--cert", cert, "--key", key, "--port-file", port_file,
             "--connections", str(args.connections)],
            port_file,
            lambda port: [client, "--host", "localhost", "--port", port, "--ca", cert,
                          "--connections", str(args.connections), "--hold-ms",
                          str(args.hold_ms)])
    except RuntimeError as e:
        raise SystemExit(f"FAIL: {e}")
    name = f"{os.path.basename(server)} + {os.path.basename(client)}"
    srv_stats, cli_stats = stats_of(srv.stderr), stats_of(cli.stderr)
    if srv.returncode != 0 or cli.returncode != 0 or not srv_stats or not cli_stats:
        sys.stderr.write(srv.stderr + cli.stderr)
        raise SystemExit(f"FAIL: {name}: server exited {srv.returncode}, "
                         f"client {cli.returncode}")
    print(f"{name}: server {' '.join(f'{k}={v}' for k, v in srv_stats.items())}; "
          f"client {' '.join(f'{k}={v}' for k, v in cli_stats.items())}")
    return srv.stdout, srv_stats, cli.stdout, cli_stats


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for role in ("server", "client"):
        for build in ("threads", "balrog"):
            parser.add_argument(f"--{role}-{build}", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--hold-ms", type=int, default=1000)
    args = parser.parse_args()
    cert, key = make_localhost_certificate(args.work_dir)

    runs = {}
    for server_build in ("threads", "balrog"):
        for client_build in ("threads", "balrog"):
            runs[(server_build, client_build)] = run_pair(
                getattr(args, f"server_{server_build}"), getattr(args, f"client_{client_build}"),
                args, cert, key, args.work_dir)

    failures = []
    srv_ref, _, cli_ref, _ = runs[("threads", "threads")]
    n = args.connections
    want_cli = re.compile(r"^client (\d+): TLSv1\.3 verify=ok( \| [^|]+){4} \| SSL_shutdown 0 "
                          r"\| close_notify$")
    want_srv = re.compile(r"^connection (\d+): TLSv1\.3( \| [^|]+){4} \| close_notify "
                          r"\| SSL_shutdown 1$")
    cli_lines, srv_lines = cli_ref.splitlines(), srv_ref.splitlines()
    if len(cli_lines) != n or not all(want_cli.match(l) for l in cli_lines):
        failures.append("the client as written did not complete every connection as expected")
    if len(srv_lines) != n or not all(want_srv.match(l) for l in srv_lines):
        failures.append("the server as written did not complete every connection as expected")
    for pairing, (srv_out, srv_stats, cli_out, cli_stats) in runs.items():
        label = f"server {pairing[0]}, client {pairing[1]}"
        if srv_out != srv_ref:
            failures.append(f"{label}: the server's output differs from the build as written")
        if cli_out != cli_ref:
            failures.append(f"{label}: the client's output differs from the build as written")
        if pairing[0] == "balrog":
            if int(srv_stats["os_threads"]) != 1:
                failures.append(f"{label}: the rewritten server ran its connections on "
                                f"{srv_stats['os_threads']} OS threads, not 1")
            if int(srv_stats["most_at_once"]) < n * 8 // 10:
                failures.append(f"{label}: the rewritten server had at most "
                                f"{srv_stats['most_at_once']} of {n} connections waiting at once")
        if pairing[1] == "balrog" and int(cli_stats["os_threads"]) != 1:
            failures.append(f"{label}: the rewritten client ran its connections on "
                            f"{cli_stats['os_threads']} OS threads, not 1")
    for f in failures:
        print(f"FAIL: {f}")
    if failures:
        print("as written, server:\n" + srv_ref + "client:\n" + cli_ref)
        return 1
    print(f"PASS: {n} TLS connections in each of 4 pairings, identical outputs; the rewritten "
          f"server and client each on 1 OS thread, "
          f"{runs[('balrog', 'balrog')][1]['most_at_once']} waiting at once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
