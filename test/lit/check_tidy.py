#!/usr/bin/env python3
"""Runs a balrog-* clang-tidy check (libbalrog-tidy.so) on one lit test file, and balrog-gen's
pass of the same name on a copy, and checks that they agree.

  // RUN: %check_tidy %s <pass> %t [-- <compiler args>]
  // RUN: %check_tidy --same-as-balrog-gen %s <pass> %t [-- <compiler args>]

Steps:
 1. Copy the test twice (one copy per tool, in directories of their own, same file name) with
    every `// CHECK-...:` comment blanked, so both tools see the code the test reads like.
 2. Run `clang-tidy --load=<plugin> -checks=-*,balrog-<pass> --fix` on one copy and
    `balrog-gen --passes=<pass> -i` on the other: the two files must come out byte-identical.
 3. Messages. By default clang-tidy's output is FileChecked against the CHECK-MESSAGES lines with
    -implicit-check-not='{{warning|error}}:' (no such lines: no warning at all). With
    --same-as-balrog-gen (for the passes' own lit tests, written for balrog-gen), the warnings
    and errors clang-tidy prints must be exactly those of `balrog-gen --check` (each message with
    its position; the check name `[balrog-<pass>]` stands for balrog-gen's `[<pass>]`).
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys


def run(cmd, **kw):
    print("Running: " + " ".join(shlex.quote(c) for c in cmd))
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


DIAGNOSTIC = re.compile(r"^(.*?):(\d+):(\d+): (warning|error): (.*) \[(?:balrog-)?([\w-]+)\]$")


def diagnostics(output, path):
    """The warnings and errors in `output` about `path` or elsewhere, normalized to the file name."""
    found = set()
    for line in output.splitlines():
        m = DIAGNOSTIC.match(line)
        if m:
            where = os.path.basename(m.group(1)) if m.group(1) == path else m.group(1)
            found.add("%s:%s:%s: %s: %s [%s]" % (where, m.group(2), m.group(3), m.group(4),
                                                 m.group(5), m.group(6)))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clang-tidy", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--balrog-gen", required=True)
    ap.add_argument("--filecheck", required=True)
    ap.add_argument("--same-as-balrog-gen", action="store_true")
    # clang-tidy --fix runs clang-format's cleanup around its replacements, which squeezes spaces
    # next to an edit (`state  )` becomes `state )`): with this flag runs of spaces compare equal.
    ap.add_argument("--ignore-space-runs", action="store_true")
    ap.add_argument("source")
    ap.add_argument("passes")
    ap.add_argument("temp")
    argv = sys.argv[1:]
    compiler_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, compiler_args = argv[:i], argv[i + 1:]
    args = ap.parse_args(argv)

    with open(args.source) as f:
        original = f.read()
    has_messages = re.search(r"//\s*CHECK-MESSAGES\s*:", original) is not None
    cleaned = re.sub(r"//\s*CHECK-[A-Z0-9-]*:[^\r\n]*", "//", original)

    name = os.path.basename(args.source)
    copies = {}
    for tool in ("tidy", "gen"):
        d = args.temp + "." + tool
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        copies[tool] = os.path.join(d, name)
        with open(copies[tool], "w") as f:
            f.write(cleaned)

    checks = ",".join("balrog-" + p for p in args.passes.split(","))
    tidy = run([args.clang_tidy, "--load=" + args.plugin, "-checks=-*," + checks, "--fix",
                "--quiet", copies["tidy"], "--"] + compiler_args)
    sys.stdout.write(tidy.stdout)
    sys.stderr.write(tidy.stderr)
    if tidy.returncode != 0:
        sys.exit("check_tidy: clang-tidy exited %d" % tidy.returncode)

    gen_cmd = [args.balrog_gen, "--passes=" + args.passes, copies["gen"], "--"] + compiler_args
    listed = run(gen_cmd[:1] + ["--check", "--quiet"] + gen_cmd[1:])
    rewrite = run(gen_cmd[:1] + ["-i", "--quiet"] + gen_cmd[1:])
    if rewrite.returncode != 0:
        sys.stderr.write(rewrite.stderr)
        sys.exit("check_tidy: balrog-gen -i exited %d" % rewrite.returncode)

    with open(copies["tidy"]) as f:
        fixed = f.read()
    with open(copies["gen"]) as f:
        rewritten = f.read()
    if args.ignore_space_runs:
        fixed, rewritten = (re.sub(r" +", " ", t) for t in (fixed, rewritten))
    if fixed != rewritten:
        diff = run(["diff", "-u", copies["gen"], copies["tidy"]])
        sys.stderr.write(diff.stdout)
        sys.exit("check_tidy: clang-tidy --fix and balrog-gen -i rewrote the file differently")

    messages = tidy.stdout.replace(copies["tidy"], args.source)
    if args.same_as_balrog_gen:
        from_tidy = diagnostics(tidy.stdout, copies["tidy"])
        from_gen = diagnostics(listed.stderr, copies["gen"])
        if from_tidy != from_gen:
            for d in sorted(from_gen - from_tidy):
                sys.stderr.write("only balrog-gen: " + d + "\n")
            for d in sorted(from_tidy - from_gen):
                sys.stderr.write("only clang-tidy: " + d + "\n")
            sys.exit("check_tidy: clang-tidy and balrog-gen --check report different diagnostics")
    elif has_messages:
        result = subprocess.run([args.filecheck, args.source, "--check-prefix=CHECK-MESSAGES",
                                 "--input-file=-", "-implicit-check-not={{warning|error}}:"],
                                input=messages, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            sys.exit("check_tidy: FileCheck failed for CHECK-MESSAGES")
    elif re.search(r"(warning|error):", messages):
        sys.exit("check_tidy: unexpected diagnostics (the test has no CHECK-MESSAGES lines)")


if __name__ == "__main__":
    main()
