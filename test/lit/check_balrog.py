#!/usr/bin/env python3
"""Runs balrog-gen on one lit test file and checks what it did, in the style of clang-tidy's
check_clang_tidy.py.

  // RUN: %check_balrog %s <passes> %t [-- <balrog-gen args>] [-- <compiler args>]

Steps:
 1. Copy the test to <temp>.cpp with every `// CHECK-...:` comment blanked (lines keep their
    numbers), so the tool sees the code the test reads like.
 2. Run `balrog-gen --passes=<passes> -i <temp>.cpp` and keep its stderr.
 3. FileCheck the rewritten file against the CHECK-FIXES lines (--match-full-lines), and
    stderr against the CHECK-MESSAGES lines with -implicit-check-not='{{warning|error}}:', so
    an unexpected diagnostic fails the test. Without CHECK-FIXES lines, the file must come
    back unchanged.
 4. Run balrog-gen again on the result: a second run must change nothing (idempotency).

Options (before the source): --expect-exit N (first run's exit status, default 0),
--check-suffix S (CHECK-FIXES-S / CHECK-MESSAGES-S prefixes).
"""
import argparse
import os
import re
import shlex
import subprocess
import sys


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def filecheck(filecheck_bin, check_file, prefix, input_text, extra):
    result = run([filecheck_bin, check_file, "--check-prefix=" + prefix, "--input-file=-"] + extra,
                 input=input_text)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit("check_balrog: FileCheck failed for " + prefix)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--balrog-gen", required=True)
    ap.add_argument("--filecheck", required=True)
    ap.add_argument("--expect-exit", type=int, default=0)
    ap.add_argument("--check-suffix", default="")
    ap.add_argument("source")
    ap.add_argument("passes")
    ap.add_argument("temp")
    # [-- <balrog-gen args>] [-- <compiler args>]: split by hand (argparse eats a bare "--").
    argv = sys.argv[1:]
    tool_args, compiler_args = [], []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
        if "--" in rest:
            j = rest.index("--")
            tool_args, compiler_args = rest[:j], rest[j + 1:]
        else:
            tool_args = rest
    args = ap.parse_args(argv)
    suffix = "-" + args.check_suffix if args.check_suffix else ""
    fixes_prefix = "CHECK-FIXES" + suffix
    messages_prefix = "CHECK-MESSAGES" + suffix

    with open(args.source) as f:
        original = f.read()
    has_fixes = re.search(r"//\s*" + re.escape(fixes_prefix) + r"\s*:", original) is not None
    has_messages = re.search(r"//\s*" + re.escape(messages_prefix) + r"\s*:", original) is not None
    cleaned = re.sub(r"//\s*CHECK-[A-Z0-9-]*:[^\r\n]*", "//", original)

    temp = args.temp + (os.path.splitext(args.source)[1] or ".cpp")
    os.makedirs(os.path.dirname(os.path.abspath(temp)), exist_ok=True)
    with open(temp, "w") as f:
        f.write(cleaned)

    cmd = [args.balrog_gen, "--passes=" + args.passes, "-i", temp] + tool_args + ["--"] + compiler_args
    print("Running: " + " ".join(shlex.quote(c) for c in cmd))
    first = run(cmd)
    sys.stdout.write(first.stdout)
    sys.stderr.write(first.stderr)
    if first.returncode != args.expect_exit:
        sys.exit("check_balrog: balrog-gen exited %d, expected %d" % (first.returncode, args.expect_exit))

    with open(temp) as f:
        rewritten = f.read()
    if has_fixes:
        filecheck(args.filecheck, args.source, fixes_prefix, rewritten,
                  ["--match-full-lines"])
    elif rewritten != cleaned:
        sys.exit("check_balrog: the file was rewritten, but the test has no " + fixes_prefix + " lines")

    # Diagnostics name the temp file; make them name the test file, as lit users read it.
    messages = first.stderr.replace(temp, args.source)
    if has_messages:
        filecheck(args.filecheck, args.source, messages_prefix, messages,
                  ["-implicit-check-not={{warning|error}}:"])
    elif re.search(r"(warning|error):", messages):
        sys.stderr.write(messages)
        sys.exit("check_balrog: unexpected diagnostics (the test has no " + messages_prefix + " lines)")

    if args.expect_exit == 0:
        second = run(cmd)
        with open(temp) as f:
            again = f.read()
        if again != rewritten:
            sys.exit("check_balrog: a second run changed the file again: balrog-gen is not idempotent")


if __name__ == "__main__":
    main()
