#!/usr/bin/env python3
"""End-to-end test of balrog's CMake package: install, find_package, balrog_wrap.

  run_e2e.py --build-dir <balrog build> --work-dir <scratch> [--clients N] [--thread-clients N]

1. `cmake --install <balrog build> --prefix <scratch>/prefix` (nothing is rebuilt) and checks the
   installed tree: library, headers, bin/balrog-gen (which must find clang's builtin headers
   and the installed API maps), the package files, the gdb script.
2. Copies test/e2e/consumer (a project that knows nothing of balrog's tree) to the scratch
   directory and configures it twice against the prefix, with -DCMAKE_PREFIX_PATH:
     wrapped  balrog_wrap(roll_call_lib): its blocking code is rewritten, main() serves every
              connection on a fiber, all on one thread;
     threads  the same sources unwrapped, a thread per connection.
   Builds both and runs each one's ctest: N clients at once, every answer checked, and the
   server must have held all N connections in progress at the same time (on 1 thread when
   wrapped, on N when not).
   The wrapped build also links balrog::pg from the package (roll_call_pg_probe: a refused
   connection must end in pg::connection_error) and balrog::http (roll_call_http_probe: a
   refused request must end in http::connection_error, and compat curl_easy_perform in
   CURLE_COULDNT_CONNECT).
3. Wrapped build only: a second build does nothing; touching a source re-runs balrog-gen but
   recompiles nothing (its rewritten copy is written only if it changed); editing it
   recompiles that file only; editing the CONFIG file re-runs balrog-gen on every source.
Prints what it measured; exits non-zero on the first failure.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Failure(Exception):
    pass


def run(cmd, cwd=None, check=True, env=None):
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    elapsed = time.monotonic() - start
    if check and proc.returncode != 0:
        sys.stdout.write(proc.stdout)
        raise Failure(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return proc, elapsed


def expect(condition, message):
    if not condition:
        raise Failure(message)


def check_install(build_dir, prefix, timings):
    shutil.rmtree(prefix, ignore_errors=True)
    _, timings["install"] = run(["cmake", "--install", build_dir, "--prefix", prefix])
    for rel in ["bin/balrog-gen", "include/balrog/run.hpp", "include/balrog/compat/posix_net.hpp",
                "include/balrog/pg/connection.hpp",
                "lib/cmake/balrog/balrogConfig.cmake",
                "lib/cmake/balrog/balrogConfigVersion.cmake",
                "lib/cmake/balrog/balrogTargets.cmake", "lib/cmake/balrog/BalrogWrap.cmake",
                "share/balrog/maps/posix-net.yaml", "share/balrog/gdb/balrog_gdb.py"]:
        expect(os.path.exists(os.path.join(prefix, rel)), f"not installed: {rel}")
    libs = [f for d in ("lib", "lib64") if os.path.isdir(os.path.join(prefix, d))
            for f in os.listdir(os.path.join(prefix, d))]
    for lib in ("libbalrog_runtime", "libbalrog_pg"):
        expect(any(f.startswith(lib) for f in libs), f"not installed: {lib}")

    # The installed tool: clang's builtin headers (<stddef.h>...) and the installed maps.
    tool = os.path.join(prefix, "bin", "balrog-gen")
    probe_dir = os.path.join(os.path.dirname(prefix), "probe")
    os.makedirs(probe_dir, exist_ok=True)
    probe = os.path.join(probe_dir, "probe.cpp")
    with open(probe, "w") as f:
        f.write("#include <stddef.h>\n#include <stdarg.h>\n#include <cstddef>\n"
                "#include <unistd.h>\n"
                "size_t nap() { return static_cast<size_t>(::usleep(1)); }\n")
    # Run from elsewhere, so nothing is found relative to the working directory.
    proc, _ = run([tool, "--check", "--passes=blocking-calls", "--use-color=never", probe,
                   "--", "-std=c++20"], cwd="/", check=False)
    expect("resource directory was not found" not in proc.stdout,
           "the installed balrog-gen does not find clang's resource directory:\n" + proc.stdout)
    expect(proc.returncode == 1 and "balrog::compat::usleep" in proc.stdout,
           "the installed balrog-gen did not parse <stddef.h> and propose the rewrite:\n"
           + proc.stdout)
    proc, _ = run([tool, "--list-passes"])
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def configure_and_build(source, build, prefix, wrap, passes, clients, compiler, jobs, timings,
                        key):
    shutil.rmtree(build, ignore_errors=True)
    cmd = ["cmake", "-S", source, "-B", build, "-G", "Ninja",
           f"-DCMAKE_PREFIX_PATH={prefix}", f"-DROLL_CALL_WRAP={'ON' if wrap else 'OFF'}",
           f"-DROLL_CALL_CLIENTS={clients}"]
    if passes is not None:
        cmd.append(f"-DROLL_CALL_BALROG_PASSES={passes}")
    if compiler:
        cmd.append(f"-DCMAKE_CXX_COMPILER={compiler}")
    _, timings[key + " configure"] = run(cmd)
    proc, timings[key + " build"] = run(["cmake", "--build", build, "-j", str(jobs)])
    return proc.stdout


def run_consumer_test(build, timings, key):
    proc, timings[key + " test"] = run(["ctest", "--test-dir", build, "-V", "-L", "e2e"],
                                       check=False)
    lines = [line.split(": ", 1)[-1] for line in proc.stdout.splitlines()
             if re.search(r"(server|client|pg_probe|http_probe): |PASS$|FAIL$|roll_call_check: ", line)]
    for line in lines:
        print(f"  {key}: {line}")
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout)
        raise Failure(f"the {key} consumer's test failed")
    return "\n".join(lines)


def check_rebuilds(source, build, jobs):
    """balrog-gen's outputs are written only when they change: minimal rebuilds."""
    proc, _ = run(["cmake", "--build", build, "-j", str(jobs)])
    expect("no work to do" in proc.stdout, "a second build was not a no-op:\n" + proc.stdout)
    room = os.path.join(source, "src", "room.cpp")
    os.utime(room)  # newer, same content
    time.sleep(0.01)
    proc, _ = run(["cmake", "--build", build, "-j", str(jobs), "--", "-v"])
    compiled = lambda name, out: re.search(r" -c \S*/" + re.escape(name) + r"\b", out)
    expect("balrog-gen" in proc.stdout, "touching a source did not re-run balrog-gen")
    expect(not compiled("room.cpp", proc.stdout),
           "touching a source recompiled its unchanged rewritten copy:\n" + proc.stdout)
    with open(room, "a") as f:
        f.write("// edited by run_e2e.py\n")
    proc, _ = run(["cmake", "--build", build, "-j", str(jobs), "--", "-v"])
    expect(compiled("room.cpp", proc.stdout) and not compiled("server.cpp", proc.stdout),
           "editing one source did not recompile exactly that one:\n" + proc.stdout)
    # CONFIG balrog.yaml is an input of every source's rewrite: editing it re-runs balrog-gen
    # on both; a comment changes no rewrite, so nothing is recompiled.
    with open(os.path.join(source, "balrog.yaml"), "a") as f:
        f.write("# edited by run_e2e.py\n")
    proc, _ = run(["cmake", "--build", build, "-j", str(jobs), "--", "-v"])
    reran = re.findall(r"balrog-gen -o .* (\S+\.cpp) -- ", proc.stdout)
    expect(sorted(os.path.basename(f) for f in reran) == ["room.cpp", "server.cpp"],
           f"editing balrog.yaml re-ran balrog-gen on {reran}, not on both sources:\n"
           + proc.stdout)
    expect(not compiled("room.cpp", proc.stdout) and not compiled("server.cpp", proc.stdout),
           "a comment in balrog.yaml recompiled a source:\n" + proc.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True, help="balrog's (built) build directory")
    parser.add_argument("--work-dir", required=True, help="scratch directory (emptied)")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--thread-clients", type=int, default=1000)
    parser.add_argument("--cxx", default="", help="C++ compiler for the consumer")
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs of the consumer builds")
    args = parser.parse_args()

    work = os.path.abspath(args.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    prefix = os.path.join(work, "prefix")
    source = os.path.join(work, "consumer")
    shutil.copytree(os.path.join(HERE, "consumer"), source)
    timings = {}
    start = time.monotonic()
    try:
        passes = check_install(os.path.abspath(args.build_dir), prefix, timings)
        expect({"blocking-calls", "sync-types"} <= set(passes),
               f"the installed balrog-gen lacks passes: it lists {passes}")
        print(f"installed into {prefix}; balrog-gen passes: {', '.join(passes)}")

        wrapped = os.path.join(work, "build-wrapped")
        configure_and_build(source, wrapped, prefix, True, "", args.clients, args.cxx,
                            args.jobs, timings, "wrapped")
        copy = os.path.join(wrapped, "balrog_wrap", "roll_call_lib", "src", "server.cpp")
        expect(os.path.exists(copy), f"no rewritten copy at {copy}")
        with open(copy) as f:
            text = f.read()
        for call in ("balrog::compat::accept", "balrog::compat::recv", "balrog::compat::send",
                     "balrog::compat::usleep", "balrog::compat::this_thread::sleep_for"):
            expect(call in text, f"the rewritten server.cpp does not call {call}")
        # sync-types (consumer/balrog.yaml) + HEADER_FILTER: room.hpp's std::mutex rewritten
        # into the mirror, next to the copies of the sources that include it as "room.hpp".
        header = os.path.join(wrapped, "balrog_wrap", "roll_call_lib", "src", "room.hpp")
        expect(os.path.exists(header), f"no rewritten copy of room.hpp at {header}")
        with open(header) as f:
            header_text = f.read()
        expect("balrog::mutex mutex_;" in header_text and "std::mutex mutex_" not in header_text,
               "the rewritten room.hpp still uses std::mutex:\n" + header_text)
        with open(os.path.join(source, "src", "room.hpp")) as f:
            expect("std::mutex mutex_;" in f.read(), "the original room.hpp changed")
        print("  wrapped: room.hpp's std::mutex rewritten by sync-types (HEADER_FILTER)")
        wrapped_report = run_consumer_test(wrapped, timings, "wrapped")
        expect("handler_threads=1 " in wrapped_report, "the wrapped server used several threads")

        threads = os.path.join(work, "build-threads")
        configure_and_build(source, threads, prefix, False, None, args.thread_clients, args.cxx,
                            args.jobs, timings, "threads")
        expect(not os.path.exists(os.path.join(threads, "balrog_wrap")),
               "the unwrapped build ran balrog-gen")
        run_consumer_test(threads, timings, "threads")

        rebuild_start = time.monotonic()
        check_rebuilds(source, wrapped, args.jobs)
        timings["wrapped rebuild checks"] = time.monotonic() - rebuild_start
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    timings["total"] = time.monotonic() - start
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
