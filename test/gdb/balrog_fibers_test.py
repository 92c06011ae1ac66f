#!/usr/bin/python3
"""Tests tools/gdb/balrog_gdb.py (the balrog-fibers and balrog-fiber gdb commands) the way people
use it: gdb in batch mode on a live process stopped by a signal, and on a core file of it.

1. live: runs fibers_program under gdb until its std::abort(), runs balrog-fibers on the stopped
   process, writes a core file with generate-core-file (into a temporary directory: the system's
   core_pattern plays no part), then corrupts some of balrog's structures in the live process and
   checks that balrog-fibers still reports what it can read;
2. core: gdb on the program and that core file: the list, the one-fiber form, -n, balrog-fiber;
3. no scheduler: the program stopped before any balrog scheduler exists, and a program without
   balrog at all;
4. no debug info: a copy of the program without DWARF, which also checks that gdb auto-loads the
   script when it sits next to the program as <program>-gdb.py.

gdb is required: without it the test fails (scripts/bootstrap installs it); it never skips.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# What fibers_program.cpp parks, and where: (kind, name, shard, state prefix).
EXPECTED = [
    ("fiber", "main", 0, "running"),
    ("fiber", "sleeper", 0, "waiting on sleep"),
    ("fiber", "locker", 0, "waiting on mutex"),
    ("fiber", "popper", 1, "waiting on channel-pop"),
    ("task", "coro", 0, "waiting on sleep"),
    ("fiber", "unnamed", 0, "waiting on event"),  # shown as fiber-<id>
]
PARKED_MS = 50  # the program sleeps this long after parking them, then aborts
GDB_TIMEOUT = 60

# Run inside gdb on the live process (after the core is written): damages a fiber list and a
# saved context, as a memory corruption would.
CORRUPT = r"""
import gdb
inf = gdb.selected_inferior()
word = lambda addr, v: inf.write_memory(addr, int(v).to_bytes(8, "little"))
def offset(type_name, *path):
    t, off = gdb.lookup_type(type_name), 0
    for f in path:
        field = t[f]
        off += field.bitpos // 8
        t = field.type
    return off
joinable = "balrog::detail::joinable_context"
fiber = "balrog::detail::fiber_context"
sched = int(gdb.lookup_global_symbol("balrog::detail::registry_head").value())
while sched:
    s = gdb.Value(sched).cast(gdb.lookup_type("balrog::detail::scheduler").pointer()).dereference()
    head = int(s["all_head_"])
    if int(s["shard_index"]) == 0:
        # Shard 0: the first context's link to the next one points at unmapped memory.
        word(head + offset(joinable, "all_next"), 0x10)
    else:
        # Shard 1 (the popper alone): its saved rbp points at unmapped memory, and its stack
        # bounds are widened so the walk tries to read there.
        f = gdb.Value(head).cast(gdb.lookup_type(fiber).pointer()).dereference()
        fctx = int(f["frame"]["context"])
        word(fctx + 0x38, 0x10)
        word(head + offset(fiber, "stack", "lowest"), 0x8)
        word(head + offset(fiber, "stack", "size"), 0x7ffffffff000)
    sched = int(s["registry_next"])
print("corrupted")
"""


class Failure(Exception):
    pass


def run_gdb(gdb, args, what, env):
    start = time.monotonic()
    try:
        p = subprocess.run([gdb, "-batch", "-nx"] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                           timeout=GDB_TIMEOUT, text=True, errors="replace")
    except subprocess.TimeoutExpired as e:
        raise Failure("%s: gdb did not finish within %d s; output so far:\n%s" %
                      (what, GDB_TIMEOUT, e.stdout or ""))
    print("[%s: gdb took %.2f s]" % (what, time.monotonic() - start))
    return p.stdout


def sections(output):
    """Splits gdb's output at the `echo @@@ name` markers the test puts between commands."""
    parts = {}
    current = None
    for line in output.splitlines():
        m = re.match(r"^@@@ (\S+)$", line)
        if m:
            current = m.group(1)
            parts[current] = []
        elif current is not None:
            parts[current].append(line)
    return {k: "\n".join(v) for k, v in parts.items()}


def parse_list(text):
    """balrog-fibers' list -> {name: {"kind", "id", "shard", "state", "frames": [lines]}}."""
    fibers = {}
    shard = None
    current = None
    for line in text.splitlines():
        m = re.match(r"^shard (\d+) \(", line)
        if m:
            shard = int(m.group(1))
            current = None
            continue
        m = re.match(r"^  (fiber|task) #(\d+) '([^']*)': (.*)$", line)
        if m:
            current = {"kind": m.group(1), "id": int(m.group(2)), "shard": shard,
                       "state": m.group(4), "frames": []}
            fibers[m.group(3)] = current
            continue
        if current is not None and line.startswith("      "):
            current["frames"].append(line.strip())
    return fibers


class Checker:
    def __init__(self):
        self.failures = []

    def expect(self, ok, message, output=None):
        if not ok:
            self.failures.append(message + ("\n--- gdb output ---\n%s\n---" % output
                                            if output is not None else ""))

    def expect_in(self, needle, text, what):
        self.expect(needle in text, "%s: expected %r" % (what, needle), text)


def check_list(c, text, ids, sleep_line, what, live):
    fibers = parse_list(text)
    c.expect(re.search(r"^balrog: 2 shards, 6 fibers and tasks$", text, re.M) is not None,
             "%s: expected the header 'balrog: 2 shards, 6 fibers and tasks'" % what, text)
    c.expect_in("(live process:" if live else "(core file:", text, what)
    for kind, name, shard, state in EXPECTED:
        shown = name if name != "unnamed" else "fiber-%d" % ids.get(name, -1)
        f = fibers.get(shown)
        if f is None:
            c.expect(False, "%s: %s '%s' is not listed" % (what, kind, shown), text)
            continue
        c.expect(f["kind"] == kind, "%s: '%s' is a %s, not a %s" % (what, shown, f["kind"], kind),
                 text)
        c.expect(f["shard"] == shard, "%s: '%s' is on shard %s, not %d" %
                 (what, shown, f["shard"], shard), text)
        c.expect(f["state"].startswith(state), "%s: '%s' is '%s', expected '%s...'" %
                 (what, shown, f["state"], state), text)
        if name in ids:
            c.expect(f["id"] == ids[name], "%s: '%s' has id %d, the program says %d" %
                     (what, shown, f["id"], ids[name]), text)
        if state.startswith("waiting"):
            m = re.search(r" for (>= )?(\d+) ms", f["state"])
            c.expect(m is not None and int(m.group(2)) >= PARKED_MS - 10,
                     "%s: '%s' should have waited about %d ms: '%s'" %
                     (what, shown, PARKED_MS, f["state"]), text)
            c.expect((m is not None and m.group(1) is not None) == (not live),
                     "%s: waits are lower bounds ('>= ') in a core file only: '%s'" %
                     (what, f["state"]), text)
            c.expect(len(f["frames"]) > 0, "%s: '%s' has no backtrace" % (what, shown), text)
    main = fibers.get("main")
    if main is not None:
        c.expect(re.search(r"running \(see `thread apply all bt`: it is on gdb thread \d+\)",
                           main["state"]) is not None,
                 "%s: main should be running on a named gdb thread: '%s'" % (what, main["state"]),
                 text)
    sleeper = fibers.get("sleeper", {"frames": []})
    frame = [f for f in sleeper["frames"] if "gdb_test_sleeper()" in f]
    c.expect(len(frame) == 1 and re.search(r"fibers_program\.cpp:%d$" % sleep_line, frame[0]),
             "%s: the sleeper's backtrace should show gdb_test_sleeper() at "
             "fibers_program.cpp:%d" % (what, sleep_line), text)
    c.expect(len(sleeper["frames"]) <= 21, "%s: more than 20 frames by default" % what, text)
    coro = fibers.get("coro", {"frames": []})["frames"]
    where = r"\(\) at .*fibers_program\.cpp:\d+ \(frame 0x[0-9a-f]+\)$"
    c.expect(len(coro) >= 2
             and re.match(r"#0 +coroutine gdb_test_inner_coroutine" + where, coro[0])
             and re.match(r"#1 +coroutine gdb_test_coroutine" + where, coro[1]),
             "%s: the task's backtrace should name the coroutine it is suspended in, then the one "
             "awaiting it" % what, text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    gdb = shutil.which("gdb")
    if gdb is None:
        print("FAIL: gdb is not installed, and this test needs it (scripts/bootstrap installs it)")
        return 1
    objcopy = shutil.which("objcopy")
    if objcopy is None:
        print("FAIL: objcopy (binutils) is not installed; scripts/bootstrap installs it")
        return 1
    with open(args.source) as f:
        sleep_line = next(i for i, line in enumerate(f, 1)
                          if line.rstrip().endswith("// GDB-TEST-SLEEP-LINE"))
    env = dict(os.environ, DEBUGINFOD_URLS="")  # never fetch debug info from the network
    script = ["-x", args.script]
    c = Checker()
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="balrog-gdb-test-")
    try:
        core = os.path.join(tmp, "core")
        corrupt = os.path.join(tmp, "corrupt.py")
        with open(corrupt, "w") as f:
            f.write(CORRUPT)

        # 1. The live process, stopped by the program's own SIGABRT; the core comes from gdb.
        out = run_gdb(gdb, script + [
            "-ex", "run",
            "-ex", "echo @@@ live\\n", "-ex", "balrog-fibers",
            "-ex", "echo @@@ core\\n", "-ex", "generate-core-file " + core,
            "-ex", "echo @@@ corrupt\\n", "-x", corrupt, "-ex", "balrog-fibers",
            "-ex", "echo @@@ end\\n", "-ex", "kill",
            "--args", args.program], "live process", env)
        parts = sections(out)
        ids = {m.group(1): int(m.group(2)) for m in re.finditer(r"^id (\w+) (\d+)$", out, re.M)}
        c.expect(set(ids) == {"sleeper", "locker", "popper", "coro", "unnamed"},
                 "live: the program did not print its fibers' ids", out)
        c.expect("SIGABRT" in out, "live: the program should stop on SIGABRT", out)
        check_list(c, parts.get("live", ""), ids, sleep_line, "live", live=True)
        c.expect(os.path.exists(core), "live: generate-core-file wrote no core", out)
        damaged = parts.get("corrupt", "")
        c.expect_in("corrupted", damaged, "corrupt")
        c.expect(re.search(r"^  \? at 0x10: cannot read it: Cannot access memory at address "
                           r"0x[0-9a-f]+$", damaged, re.M) is not None,
                 "corrupt: a broken fiber list should be reported, not end the command", damaged)
        c.expect_in("<the rest of the list cannot be read>", damaged, "corrupt")
        c.expect(re.search(r"^shard 1 \(", damaged, re.M) is not None,
                 "corrupt: shard 1 should still be listed after shard 0's broken list", damaged)
        popper = parse_list(damaged).get("popper", {"frames": []})["frames"]
        c.expect(2 <= len(popper) <= 4 and "switch_context" in popper[0]
                 and popper[-1] == "<backtrace stops: Cannot access memory at address 0x10>",
                 "corrupt: the popper's backtrace should show what was read, then why it stops",
                 damaged)
        c.expect("Traceback" not in out and "Python Exception" not in out,
                 "live: the script raised a Python exception", out)

        if os.path.exists(core) and ids.get("sleeper") and ids.get("coro"):
            # 2. The core file.
            sleeper, coro = ids["sleeper"], ids["coro"]
            out = run_gdb(gdb, script + [
                "-ex", "echo @@@ list\\n", "-ex", "balrog-fibers",
                "-ex", "echo @@@ one\\n", "-ex", "balrog-fibers %d" % sleeper,
                "-ex", "echo @@@ task\\n", "-ex", "balrog-fibers %d" % coro,
                "-ex", "echo @@@ running\\n", "-ex", "balrog-fibers 1",
                "-ex", "echo @@@ short\\n", "-ex", "balrog-fibers -n 3",
                "-ex", "echo @@@ missing\\n", "-ex", "balrog-fibers 999999",
                "-ex", "echo @@@ unwind\\n", "-ex", "balrog-fiber %d" % sleeper, "-ex", "bt",
                "-ex", "echo @@@ off\\n", "-ex", "balrog-fiber off", "-ex", "bt 1",
                "-ex", "echo @@@ end\\n",
                args.program, core], "core file", env)
            parts = sections(out)
            check_list(c, parts.get("list", ""), ids, sleep_line, "core", live=False)
            one = parts.get("one", "")
            c.expect_in("fiber #%d 'sleeper' on shard 0 (gdb thread" % sleeper, one, "one fiber")
            c.expect_in("state: waiting on sleep for >= ", one, "one fiber")
            c.expect(re.search(r"in gdb_test_sleeper\(\) at .*fibers_program\.cpp:%d$" % sleep_line,
                               one, re.M) is not None,
                     "one fiber: gdb_test_sleeper() at its line", one)
            c.expect_in("balrog::detail::scheduler::fiber_main", one, "one fiber (whole backtrace)")
            c.expect("(more frames" not in one, "one fiber: the whole backtrace is shown", one)
            task = parts.get("task", "")
            c.expect_in("task #%d 'coro' on shard 0" % coro, task, "one task")
            c.expect_in("coroutine gdb_test_inner_coroutine()", task, "one task")
            c.expect_in("coroutine gdb_test_coroutine()", task, "one task")
            c.expect_in("coroutine balrog::detail::drive_awaitable", task, "one task")
            running = parts.get("running", "")
            c.expect_in("fiber #1 'main' on shard 0", running, "running fiber")
            c.expect_in("unwound by gdb", running, "running fiber")
            c.expect(re.search(r"in main::\{lambda\(\)#1\}::operator\(\)\(\) const at "
                               r".*fibers_program\.cpp:\d+$", running, re.M) is not None,
                     "running fiber: its thread's stack should reach main's lambda", running)
            short = parse_list(parts.get("short", ""))
            s_frames = short.get("sleeper", {"frames": []})["frames"]
            c.expect(len(s_frames) == 4 and s_frames[3].startswith("(more frames"),
                     "-n 3: three frames, then a note that there are more", parts.get("short"))
            c.expect_in("no fiber or task #999999", parts.get("missing", ""), "missing id")
            unwind = parts.get("unwind", "")
            c.expect(re.search(r"^#\d+ +(0x[0-9a-f]+ in )?gdb_test_sleeper \(\) at "
                               r".*fibers_program\.cpp:%d$" % sleep_line, unwind, re.M)
                     is not None,
                     "balrog-fiber: gdb's own bt should walk the sleeper's frames", unwind)
            off = parts.get("off", "")
            c.expect("gdb_test_sleeper" not in off, "balrog-fiber off: back to the thread", off)
            c.expect("Traceback" not in out and "Python Exception" not in out,
                     "core: the script raised a Python exception", out)

        # 3. No scheduler: before balrog starts, and a program without balrog.
        true = shutil.which("true") or "/bin/true"
        out = run_gdb(gdb, script + ["-ex", "run", "-ex", "echo @@@ bare\\n",
                                     "-ex", "balrog-fibers", "-ex", "kill",
                                     "--args", args.program, "--bare"], "no scheduler yet", env)
        c.expect_in("no balrog scheduler in this process (no runtime has started yet",
                    sections(out).get("bare", ""), "no scheduler")
        out = run_gdb(gdb, script + ["-ex", "starti", "-ex", "echo @@@ plain\\n",
                                     "-ex", "balrog-fibers", "-ex", "kill", true],
                      "no balrog", env)
        c.expect_in("no balrog scheduler in this process (the program does not link "
                    "balrog::runtime", sections(out).get("plain", ""), "no balrog")

        # 4. No debug info; the script is auto-loaded as <program>-gdb.py.
        nodebug = os.path.join(tmp, "nodebug")
        subprocess.run([objcopy, "--strip-debug", args.program, nodebug], check=True)
        shutil.copy(args.script, nodebug + "-gdb.py")
        out = run_gdb(gdb, ["-iex", "set auto-load safe-path " + tmp, "-ex", "run",
                            "-ex", "echo @@@ nodebug\\n", "-ex", "balrog-fibers",
                            "-ex", "kill", nodebug], "no debug info (auto-loaded)", env)
        c.expect_in("has no debug information: the command needs balrog built with -g",
                    sections(out).get("nodebug", ""), "no debug info")
    except Failure as e:
        c.failures.append(str(e))
    finally:
        if args.keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print("[total %.2f s]" % (time.monotonic() - started))
    if c.failures:
        for f in c.failures:
            print("FAIL: " + f)
        return 1
    print("PASS: balrog-fibers on a live process, a core file, and without scheduler or debug info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
