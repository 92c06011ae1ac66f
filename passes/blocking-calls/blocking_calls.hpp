// blocking-calls: rewrites calls of blocking APIs to their balrog twins, from API maps.
// See README.md beside this file and docs/passes/blocking-calls.md.
#pragma once

#include <memory>

#include "pass.hpp"

namespace balrog::gen {

std::unique_ptr<pass> make_blocking_calls(const pass_config& config);

}  // namespace balrog::gen
