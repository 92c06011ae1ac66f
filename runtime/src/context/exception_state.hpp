// Per-fiber C++ exception state.
//
// The Itanium C++ ABI keeps, per thread, the stack of currently caught exceptions and the
// count of exceptions in flight (__cxa_eh_globals). Fibers share their thread, so without
// help a fiber that switches inside a catch block or during unwinding would see another
// fiber's exceptions: `throw;` could rethrow the wrong one and std::uncaught_exceptions() would
// lie. The scheduler swaps this state on every switch.
#pragma once

#include <cxxabi.h>

namespace balrog::detail {

// Mirrors __cxa_eh_globals of libstdc++ and libc++abi on x86-64 and AArch64 (unwind-cxx.h):
// the caught-exception stack and the uncaught count. ARM EH ABI adds a field we do not build for.
struct exception_state {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};

inline exception_state* thread_exception_state() noexcept {
  return reinterpret_cast<exception_state*>(abi::__cxa_get_globals());
}

}  // namespace balrog::detail
