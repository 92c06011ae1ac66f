// balrog::run_main's main fiber (balrog/run_main.hpp).
#include "balrog/run_main.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace balrog::detail {

fiber_options main_fiber_options() {
  constexpr std::size_t unlimited_size = std::size_t{8} << 20;  // Linux's usual default
  constexpr std::size_t largest = std::size_t{1} << 30;
  std::size_t size = unlimited_size;
  rlimit limit{};
  if (::getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    size = static_cast<std::size_t>(std::min<rlim_t>(limit.rlim_cur, largest));
  }
  size = std::max(size, default_guarded_stack_size);
  return {.name = "main", .stack_size = size, .stack = stack_kind::guarded};
}

}  // namespace balrog::detail
