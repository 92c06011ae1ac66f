// sync-types: rewrites std::mutex, std::timed_mutex, std::shared_mutex, std::shared_timed_mutex,
// std::condition_variable and std::condition_variable_any to their balrog twins wherever the
// type is spelled, and diagnoses what would not compile or would still block the thread.
// See README.md beside this file and docs/passes/sync-types.md.
#pragma once

#include <memory>

#include "pass.hpp"

namespace balrog::gen {

std::unique_ptr<pass> make_sync_types(const pass_config& config);

}  // namespace balrog::gen
