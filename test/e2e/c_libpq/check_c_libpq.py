#!/usr/bin/python3
"""e2e_c_libpq (issue 15 §4): a plain C libpq program, as written and rewritten by balrog_wrap().

Starts a throwaway cluster (scripts/pg-cluster), runs both builds against it and checks:
  - both succeed and print the same thing;
  - the rewritten source (balrog_wrap's mirror) calls the C face and is C: balrog_PQexec,
    balrog_PQsetdbLogin (libpq's PQsetdb macro), balrog_select, balrog_nanosleep,
    balrog_run_main, and no C++ (no "::", no .hpp include); the original calls none of them;
  - the rewritten program really runs its libpq calls on a fiber: under gdb, stopped at its
    first balrog_PQexec, balrog_on_fiber() is 1.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile


def fail(msg):
    sys.exit("e2e_c_libpq: " + msg)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plain", required=True)
    ap.add_argument("--balrog", required=True)
    ap.add_argument("--source", required=True, help="src/app.c as written")
    ap.add_argument("--rewritten", required=True, help="balrog_wrap's copy of src/app.c")
    ap.add_argument("--pg-cluster", required=True)
    args = ap.parse_args()

    with open(args.source) as f:
        original = f.read()
    with open(args.rewritten) as f:
        rewritten = f.read()
    for name in ("balrog_PQexec(", "balrog_PQexecParams(", "balrog_PQsetdbLogin(",
                 "balrog_PQconnectdb(", "balrog_select(", "balrog_nanosleep(", "balrog_run_main(",
                 "#include <balrog/pg/compat/libpq_c.h>", "#include <balrog/compat/c/run_main.h>"):
        if name not in rewritten:
            fail("the rewritten source does not contain %r:\n%s" % (name, rewritten))
        if name in original:
            fail("the source as written already contains %r" % name)
    cxx = re.search(r"::|\.hpp\b|\[&\]", rewritten)
    if cxx:
        fail("the rewritten C source contains C++ (%r)" % cxx.group(0))

    directory = tempfile.mkdtemp(prefix="balrog-e2e-c-libpq-")
    started = run([args.pg_cluster, "start", directory])
    if started.returncode != 0:
        fail("pg-cluster start failed:\n" + started.stdout + started.stderr)
    conninfo = started.stdout.strip().splitlines()[-1]
    try:
        outputs = {}
        for name, program in (("plain", args.plain), ("balrog", args.balrog)):
            r = run([program, conninfo])
            if r.returncode != 0:
                fail("%s exited %d:\n%s%s" % (name, r.returncode, r.stdout, r.stderr))
            outputs[name] = r.stdout
        if outputs["plain"] != outputs["balrog"]:
            fail("outputs differ:\n--- plain\n%s--- balrog\n%s" % (outputs["plain"],
                                                                    outputs["balrog"]))
        if not outputs["plain"].endswith("done\n") or "notification on planets" not in outputs["plain"]:
            fail("unexpected output:\n" + outputs["plain"])

        # On a fiber: stop at the first balrog_PQexec and ask the runtime.
        gdb = run(["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex",
                   "break balrog_PQexec", "-ex", "run", "-ex", "print (int) balrog_on_fiber()",
                   "-ex", "delete", "-ex", "continue", "--args", args.balrog, conninfo])
        if not re.search(r"^\$1 = 1$", gdb.stdout, re.M):
            fail("the rewritten program's balrog_PQexec did not run on a fiber:\n" + gdb.stdout +
                 gdb.stderr)
        if "done" not in gdb.stdout:
            fail("under gdb the rewritten program did not finish:\n" + gdb.stdout + gdb.stderr)
    finally:
        run([args.pg_cluster, "stop", directory])
    print(outputs["plain"], end="")
    print("e2e_c_libpq: same output; the rewritten C program ran its libpq calls on a fiber")


if __name__ == "__main__":
    main()
