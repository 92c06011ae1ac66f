#include "stack/stack_source.hpp"

#include <unistd.h>

#include <algorithm>

namespace balrog::detail {

namespace {
// AddressSanitizer surrounds every stack variable with redzones: instrumented frames are
// several times larger, so code that fits a stack normally would overflow it under ASan.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t sanitizer_stack_multiplier = 4;
#else
constexpr std::size_t sanitizer_stack_multiplier = 1;
#endif
}  // namespace

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

constexpr std::size_t max_stack_size = std::size_t{1} << 30;

std::size_t normalized_stack_size(stack_kind kind, std::size_t requested) noexcept {
  std::size_t size = requested;
  if (size == 0) {
    size = kind == stack_kind::dense ? default_dense_stack_size : default_guarded_stack_size;
  }
  // L in the runtime review: a size near SIZE_MAX must not wrap to a tiny stack (or to 0, a
  // division by zero in the dense pool). Above max_stack_size (1 GiB of address space) it is
  // clamped: no fiber needs more, and mmap would refuse far sooner anyway.
  size = std::min(std::max(size, min_stack_size), max_stack_size) * sanitizer_stack_multiplier;
  const std::size_t page = page_size();
  return (size + page - 1) / page * page;
}

}  // namespace balrog::detail
