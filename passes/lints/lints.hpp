// lints: report code that deadlocks, hangs or never exits once it runs on fibers (report only).
// See README.md beside this file and docs/passes/lints.md.
#pragma once

#include <memory>

#include "pass.hpp"

namespace balrog::gen {

std::unique_ptr<pass> make_lints(const pass_config& config);

}  // namespace balrog::gen
