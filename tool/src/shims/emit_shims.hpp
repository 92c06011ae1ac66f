// --emit-shims: the coro-shims pass's output mode. Instead of editing files, it reads the
// given headers' declarations of functions and member functions that return awaitables and
// writes one header of blocking-style wrappers (see passes/coro-shims/README.md).
#pragma once

#include <clang/Tooling/ArgumentsAdjusters.h>
#include <clang/Tooling/CompilationDatabase.h>

#include <string>
#include <vector>

#include "output.hpp"

namespace balrog::gen {

// Returns the process exit status (0 written, 2 parse or write error).
int run_emit_shims(const clang::tooling::CompilationDatabase& db,
                   const std::vector<std::string>& headers, const std::string& out_path,
                   const std::string& target_namespace,
                   const clang::tooling::ArgumentsAdjuster& extra_args,
                   const std::string& resource_dir, const diagnostic_printer& printer);

}  // namespace balrog::gen
