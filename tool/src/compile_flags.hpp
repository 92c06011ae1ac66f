// Making a compile command clang can parse: compilation databases written by GCC builds carry
// flags clang does not know (-fno-tree-vrp, -fconcepts-diagnostics-depth=2...). Unknown flags are
// dropped, each reported once as a note.
#pragma once

#include <clang/Tooling/ArgumentsAdjusters.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace balrog::gen {

class diagnostic_printer;

// Records which flags were dropped (thread-safe; shared by every worker).
class dropped_flags {
 public:
  void add(const std::string& flag);
  [[nodiscard]] std::set<std::string> all() const;

 private:
  mutable std::mutex mutex_;
  std::set<std::string> flags_;
};

// `argv` with CMake's "SHELL:<options>" arguments after "--" (target_compile_options(...
// "SHELL:-include a.h"), which balrog_wrap() passes through as they are) split into their
// options, as a POSIX shell would (CMake's own rule). Done before the fixed compilation
// database sees the arguments: it would take "SHELL:-D X" for an input file. The strings live
// in `storage`.
std::vector<const char*> expand_shell_options(int argc, const char** argv,
                                              std::vector<std::string>& storage);
// Drops arguments clang's driver does not know.
clang::tooling::ArgumentsAdjuster drop_unknown_flags(dropped_flags& log);
// Adds -resource-dir=<dir> unless the command has one.
clang::tooling::ArgumentsAdjuster add_resource_dir(std::string dir);

// One note per dropped flag.
void print_dropped(const dropped_flags& dropped, const diagnostic_printer& printer);

}  // namespace balrog::gen
