#!/usr/bin/env python3
"""Configures test/e2e/wrap_odr twice and checks balrog_wrap()'s diagnostics (see its
CMakeLists.txt): the ODR warnings name exactly the two unwrapped sources that include the
rewritten header as written; a precompiled header balrog-gen may rewrite is an error.

  check_wrap_odr.py --module <cmake/BalrogWrap.cmake> --work-dir <scratch>
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def configure(module, build, *extra):
    shutil.rmtree(build, ignore_errors=True)
    proc = subprocess.run(["cmake", "-S", HERE, "-B", build, "-G", "Ninja",
                           f"-DBALROG_WRAP_MODULE={module}", "-DBALROG_GEN_EXECUTABLE=/bin/true",
                           *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", required=True)
    parser.add_argument("--work-dir", required=True)
    args = parser.parse_args()
    failures = []

    status, out = configure(args.module, os.path.join(args.work_dir, "plain"))
    flat = re.sub(r"\s+", " ", out)
    warned = sorted(set(re.findall(r"balrog_wrap: \S*/(\w+\.cpp) \(target '(\w+)'\)", flat)))
    if status != 0:
        failures.append("the configure failed")
    if warned != [("direct_test.cpp", "wrap_odr_test"), ("excluded.cpp", "wrap_odr_lib")]:
        failures.append(f"ODR warnings for {warned}, expected direct_test.cpp and excluded.cpp")
    if "two different definitions" not in flat or "src/shared.hpp" not in flat:
        failures.append("the warning does not explain itself")

    status, out = configure(args.module, os.path.join(args.work_dir, "pch"), "-DWRAP_ODR_PCH=ON")
    flat = re.sub(r"\s+", " ", out)
    if status == 0 or "precompiles" not in flat or "HEADER_FILTER lets balrog-gen rewrite" not in flat:
        failures.append("a precompiled header balrog-gen may rewrite was not an error")

    if failures:
        sys.stdout.write(out)
        for f in failures:
            print("FAIL:", f)
        return 1
    print("PASS: ODR warnings for direct_test.cpp and excluded.cpp; precompiled shared.hpp refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
