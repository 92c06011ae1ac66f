// What the scheduler saves for a context that is not running: its saved stack pointer, its C++
// exception state, and (for the sanitizers) its stack bounds, fake stack and TSan fiber.
#pragma once

#include <cstddef>

#include "context/exception_state.hpp"

namespace balrog::detail {

struct switch_frame {
  // The saved context (context/context_switch.hpp): where the context's stack pointer was when
  // it switched away, with its registers saved just above. Meaningful only while not running.
  void* context = nullptr;
  bool fresh = false;  // `context` is a first frame (make_context) not yet switched to
  exception_state exceptions;
  const void* stack_bottom = nullptr;  // lowest address; for ASan
  std::size_t stack_size = 0;
  void* fake_stack = nullptr;  // ASan's fake stack while suspended
  void* tsan_fiber = nullptr;  // TSan's fiber (the tsan preset; sanitizer.hpp)
};

}  // namespace balrog::detail
