// What the scheduler saves for a context that is not running: its continuation, its C++
// exception state, and (for ASan) its stack bounds and fake stack.
#pragma once

#include <boost/context/fiber.hpp>
#include <cstddef>

#include "core/exception_state.hpp"

namespace balrog::detail {

struct switch_frame {
  boost::context::fiber continuation;
  exception_state exceptions;
  const void* stack_bottom = nullptr;  // lowest address; for ASan
  std::size_t stack_size = 0;
  void* fake_stack = nullptr;  // ASan's fake stack while suspended
  void* tsan_fiber = nullptr;  // TSan's fiber (the tsan preset; sanitizer.hpp)
};

}  // namespace balrog::detail
