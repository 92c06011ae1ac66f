// Running the passes over translation units: one ClangTool per TU, -j N worker threads, a
// progress line on a terminal. Results come back in input order, and clang's own diagnostics
// are kept with each result instead of printed as they come, so output is deterministic.
#pragma once

#include <clang/Tooling/ArgumentsAdjusters.h>
#include <clang/Tooling/CompilationDatabase.h>

#include <functional>
#include <string>
#include <vector>

#include "compile_flags.hpp"
#include "config.hpp"
#include "results.hpp"

namespace balrog::gen {

struct run_settings {
  const clang::tooling::CompilationDatabase* database = nullptr;
  clang::tooling::ArgumentsAdjuster extra_args;  // --extra-arg / --extra-arg-before
  std::string resource_dir;                      // clang's builtin headers (stddef.h...)
  dropped_flags* dropped = nullptr;              // GCC-only flags seen, reported once at the end
  unsigned jobs = 1;
  bool progress = false;  // "[3/10] file.cpp" on stderr, redrawn in place (a terminal only)
  bool color = false;     // colour clang's own diagnostics
  // The configuration and loaded maps that apply to a source file; errors end the run.
  std::function<const config&(const std::string& file)> config_for;
  std::function<const pass_config&(const config& c, const std::string& pass)> pass_config_for;
};

std::vector<tu_result> run_passes(const std::vector<std::string>& files, const run_settings& s);

// Where clang's own headers are for a balrog-gen installed at `executable`: next to it
// (../lib/clang/16), else the one balrog-gen was built against. Empty if neither exists.
std::string find_resource_dir(const std::string& executable);

}  // namespace balrog::gen
