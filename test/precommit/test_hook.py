#!/usr/bin/env python3
"""Runs the balrog-gen hook of .pre-commit-hooks.yaml the way pre-commit runs it.

  test_hook.py --hooks <.pre-commit-hooks.yaml> --tool-dir <dir of balrog-gen>
               --runtime-include <runtime/include> [--work-dir <scratch>]

pre-commit (language: system) runs `shlex.split(entry) + args + filenames` in the repository's
root, with the staged files (or all files, with --all-files) whose identify tags match `types`,
finding the executable on PATH, and fails the hook if the command exits non-zero. This script
does exactly that, without pre-commit itself, on a scratch git repository holding:
  src/blocking.cpp     ::recv and sleep: must be rewritten          -> exit 1, both listed
  include/blocking.hpp std::mutex and ::usleep in a header            -> exit 1, listed
  src/clean.cpp        nothing blocking                               -> exit 0
  src/uses_compat.cpp  already calls balrog::compat::recv             -> exit 0
with the compile flags in build/compile_commands.json (args: [-p, build]), and once more with no
compilation database (args: [--extra-arg=-std=c++20, --extra-arg=-Iinclude]). --check must
change no file. The scratch repository is made in a temporary directory (not under a build tree:
without -p, balrog-gen looks for a compile_commands.json in the files' parent directories).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml  # python3-yaml (scripts/bootstrap)
except ImportError:  # pragma: no cover
    yaml = None

# identify's extensions that carry the `c++` tag (identify/extensions.py), which `types: [c++]`
# selects.
CXX_EXTENSIONS = {"cc", "cpp", "cxx", "c++", "h", "hh", "hpp", "hxx", "ipp", "tpp", "inl", "mm"}

FILES = {
    "src/blocking.cpp": """#include <sys/socket.h>
#include <unistd.h>

#include "blocking.hpp"

int echo_once(int fd) {
  char buf[64];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  sleep(1);
  return static_cast<int>(n);
}
""",
    "include/blocking.hpp": """#pragma once
#include <unistd.h>

#include <mutex>

inline std::mutex guard;
inline void pause_a_little() {
  std::lock_guard<std::mutex> lock(guard);
  ::usleep(10);
}
""",
    "src/clean.cpp": "int add(int a, int b) { return a + b; }\n",
    "src/uses_compat.cpp": """#include <balrog/compat/posix_net.hpp>
#include <sys/socket.h>

long read_some(int fd, char* buf, unsigned long n) { return balrog::compat::recv(fd, buf, n, 0); }
""",
    "README.md": "not C++: never passed to the hook\n",
    ".balrog.yaml": "maps: [posix-net, posix-time, std-thread]\n",
}


class Failure(Exception):
    pass


def load_hooks(path):
    with open(path) as f:
        text = f.read()
    if yaml is None:
        raise Failure("python3-yaml is not installed (scripts/bootstrap installs it)")
    hooks = yaml.safe_load(text)
    if not isinstance(hooks, list):
        raise Failure(f"{path}: a pre-commit hooks manifest is a list of hooks")
    return hooks


def check_manifest(hooks):
    by_id = {h.get("id"): h for h in hooks}
    hook = by_id.get("balrog-gen")
    if hook is None:
        raise Failure("no hook with id balrog-gen")
    for key in ("id", "name", "entry", "language"):  # what pre-commit's manifest schema requires
        if not isinstance(hook.get(key), str) or not hook[key]:
            raise Failure(f"hook balrog-gen: '{key}' missing")
    entry = shlex.split(hook["entry"])
    if entry[0] != "balrog-gen" or "--check" not in entry:
        raise Failure(f"hook balrog-gen: entry should run `balrog-gen --check`, is {entry}")
    if hook["language"] not in ("system", "script"):
        raise Failure(f"hook balrog-gen: language {hook['language']}")
    if "c++" not in hook.get("types", []):
        raise Failure("hook balrog-gen: types should select c++ files")
    if hook.get("pass_filenames", True) is not True:
        raise Failure("hook balrog-gen: it needs the file names")
    return hook


def selected(hook, files):
    """The files pre-commit would pass, filtered as pre-commit's classifier does: `files` and
    `exclude` (regexes, searched), then `types` (all of them), `types_or` (any of them) and
    `exclude_types` against each file's identify tags."""
    include = re.compile(hook.get("files", ""))
    exclude = re.compile(hook.get("exclude", "^$"))
    types = set(hook.get("types", ["file"]))
    types_or = set(hook.get("types_or", []))
    exclude_types = set(hook.get("exclude_types", []))
    out = []
    for f in sorted(files):
        ext = f.rsplit(".", 1)[-1].lower() if "." in os.path.basename(f) else ""
        tags = {"file", "text"} | ({"c++"} if ext in CXX_EXTENSIONS else set())
        if (include.search(f) and not exclude.search(f) and types <= tags
                and (not types_or or types_or & tags) and not exclude_types & tags):
            out.append(f)
    return out


def run_hook(hook, args, filenames, repo, tool_dir):
    cmd = shlex.split(hook["entry"]) + list(args) + list(filenames)
    env = dict(os.environ, PATH=os.path.abspath(tool_dir) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(cmd, cwd=repo, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    print(f"$ {' '.join(shlex.quote(c) for c in cmd)}\n  exit {proc.returncode}")
    for line in proc.stdout.splitlines():
        print(f"  | {line}")
    return proc.returncode, proc.stdout


DIAGNOSTIC = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): warning: (?P<msg>.+) "
                        r"\[(?P<pass>blocking-calls|sync-types)\]$")


def diagnostics(out):
    """The clang-style diagnostics in balrog-gen's output: (file, line, message, pass)."""
    found = []
    for line in out.splitlines():
        m = DIAGNOSTIC.match(line)
        if m:
            found.append((m["file"], int(m["line"]), m["msg"], m["pass"]))
    return found


def expect(cond, message):
    if not cond:
        raise Failure(message)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hooks", required=True)
    parser.add_argument("--tool-dir", required=True)
    parser.add_argument("--runtime-include", required=True)
    parser.add_argument("--work-dir", help="scratch directory (default: a temporary one)")
    args = parser.parse_args()

    try:
        hook = check_manifest(load_hooks(args.hooks))
        scratch = args.work_dir or tempfile.mkdtemp(prefix="balrog-precommit-")
        repo = os.path.abspath(os.path.join(scratch, "repo"))
        shutil.rmtree(repo, ignore_errors=True)
        os.makedirs(repo)
        for rel, text in FILES.items():
            os.makedirs(os.path.join(repo, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(repo, rel), "w") as f:
                f.write(text)
        os.makedirs(os.path.join(repo, "build"))
        runtime_include = "-I" + os.path.abspath(args.runtime_include)
        database = [{"directory": repo, "file": rel,
                     "arguments": ["c++", "-std=c++20", runtime_include, "-Iinclude", "-c", rel]}
                    for rel in FILES if rel.endswith(".cpp")]
        with open(os.path.join(repo, "build", "compile_commands.json"), "w") as f:
            json.dump(database, f, indent=1)
        subprocess.run(["git", "init", "-q", repo], check=True)
        subprocess.run(["git", "-C", repo, "add", "--", *FILES], check=True)
        staged = subprocess.run(["git", "-C", repo, "diff", "--cached", "--name-only"],
                                check=True, stdout=subprocess.PIPE, text=True).stdout.split()
        files = selected(hook, staged)
        expect(files == ["include/blocking.hpp", "src/blocking.cpp", "src/clean.cpp",
                         "src/uses_compat.cpp"], f"types: [c++] selected {files}")
        before = {rel: open(os.path.join(repo, rel)).read() for rel in FILES}

        with_db = ["-p", "build"]
        status, out = run_hook(hook, with_db, ["src/blocking.cpp"], repo, args.tool_dir)
        expect(status == 1, "a file with blocking calls: expected exit 1")
        for where in ("src/blocking.cpp:8:", "src/blocking.cpp:9:"):
            expect(where in out, f"expected a diagnostic at {where}")
        expect("balrog::compat::recv" in out and "balrog::compat::sleep" in out,
               "the diagnostics should name the replacements")
        found = diagnostics(out)
        # Absolute or relative to the repository's root (where pre-commit runs the hook).
        where = [(os.path.relpath(os.path.join(repo, f), repo), line, p) for f, line, _, p in found]
        expect(where == [("src/blocking.cpp", 8, "blocking-calls"),
                         ("src/blocking.cpp", 9, "blocking-calls")],
               "expected exactly two clang-style diagnostics (file:line:col: warning: ... "
               f"[pass]), got {found}")

        status, out = run_hook(hook, with_db, ["include/blocking.hpp"], repo, args.tool_dir)
        expect(status == 1 and "include/blocking.hpp:9:" in out,
               "a header with a blocking call: expected exit 1 and its line")
        lines = {(line, p) for f, line, _, p in diagnostics(out)}
        expect({(6, "sync-types"), (8, "sync-types"), (9, "blocking-calls")} <= lines,
               f"the header's std::mutex (lines 6, 8) and usleep (9) should be listed: {lines}")

        status, out = run_hook(hook, with_db, ["src/clean.cpp", "src/uses_compat.cpp"], repo,
                               args.tool_dir)
        expect(status == 0, "files with nothing to rewrite: expected exit 0")
        expect("warning" not in out and "error" not in out, "expected no diagnostics")

        status, out = run_hook(hook, with_db, files, repo, args.tool_dir)  # --all-files
        expect(status == 1, "all files: expected exit 1")
        expect("clean.cpp" not in out and "uses_compat.cpp" not in out,
               "the clean files were reported")

        # No compilation database: the flags as arguments.
        no_db = ["--extra-arg=-std=c++20", "--extra-arg=-Iinclude"]
        status, _ = run_hook(hook, no_db, ["src/clean.cpp"], repo, args.tool_dir)
        expect(status == 0, "no database, a clean file: expected exit 0")
        status, out = run_hook(hook, no_db, ["src/blocking.cpp"], repo, args.tool_dir)
        expect(status == 1 and "src/blocking.cpp:8:" in out,
               "no database, a file with blocking calls: expected exit 1")

        after = {rel: open(os.path.join(repo, rel)).read() for rel in FILES}
        expect(before == after, "--check changed a file")
        if not args.work_dir:
            shutil.rmtree(scratch, ignore_errors=True)
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
