// Placeholder replaced by the coro-shims implementation (in progress).
#include "shims/emit_shims.hpp"

namespace balrog::gen {

int run_emit_shims(const clang::tooling::CompilationDatabase&, const std::vector<std::string>&,
                   const std::string&, const std::string&, const clang::tooling::ArgumentsAdjuster&,
                   const std::string&, const diagnostic_printer& printer) {
  printer.print({"", 0, 0, severity::error, "--emit-shims is not available yet", "coro-shims"});
  return 2;
}

}  // namespace balrog::gen
