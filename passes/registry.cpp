// Every balrog-gen pass: one line each (scripts/new-pass adds it).
#include "blocking-calls/blocking_calls.hpp"
#include "lints/lints.hpp"
#include "pass.hpp"
#include "run-main/run_main.hpp"
#include "sync-types/sync_types.hpp"

namespace balrog::gen {

const std::vector<pass_info>& all_passes() {
  static const std::vector<pass_info> passes = {
      {"blocking-calls", "rewrite calls of blocking APIs (API maps) to balrog's compat layer",
       &make_blocking_calls, /*opt_in=*/false, /*c_sources=*/true},
      {"sync-types", "rewrite std::mutex, std::condition_variable and friends to balrog's twins",
       &make_sync_types},
      {"lints",
       "report code that deadlocks, hangs or never exits once on fibers (report only: a kept "
       "std::mutex held across a suspension, signal handlers, fork, EINTR-driven loops)",
       &make_lints, /*opt_in=*/false, /*c_sources=*/true},
      {"run-main", "run the program's main() on a fiber of the runtime (opt-in: --run-main)",
       &make_run_main, /*opt_in=*/true, /*c_sources=*/true},
      {"coro-shims", "emit blocking-style wrappers of coroutine APIs (with --emit-shims)", nullptr},
      {"py-bindings",
       "emit a pybind11 module and .pyi stub of BALROG_EXPORT declarations (with "
       "--emit-py-bindings)",
       nullptr},
  };
  return passes;
}

const pass_info* find_pass(llvm::StringRef name) {
  for (const pass_info& p : all_passes()) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

}  // namespace balrog::gen
