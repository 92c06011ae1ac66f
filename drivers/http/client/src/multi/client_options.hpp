// The process-wide client_options (balrog/http/client.hpp) and a generation number that
// tells each thread's multi handle when to apply them again.
#pragma once

#include <cstdint>

#include "balrog/http/client.hpp"

namespace balrog::http::detail {

struct options_snapshot {
  client_options options;
  std::uint64_t generation;  // starts at 1; bumped by every configure()
};

// The current options, if their generation differs from `seen` (one relaxed atomic load when
// nothing changed).
bool client_options_changed(std::uint64_t seen) noexcept;
options_snapshot snapshot_client_options();

}  // namespace balrog::http::detail
