// run-main: run the program's main() on the runtime (opt-in: --run-main).
// See README.md beside this file and docs/passes/run-main.md.
#pragma once

#include <memory>

#include "pass.hpp"

namespace balrog::gen {

std::unique_ptr<pass> make_run_main(const pass_config& config);

}  // namespace balrog::gen
