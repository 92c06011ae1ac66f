// Frame-pointer backtraces: of a suspended fiber (from its saved Boost context), or of the
// running code (from a signal handler's ucontext). Walking is async-signal-safe; turning
// addresses into names (dladdr + demangling) is not, and happens later, on a normal thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace balrog::detail {

// The address range a walk may read: the stack the frames live on.
struct stack_bounds {
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  [[nodiscard]] bool contains(std::uintptr_t a, std::size_t n) const noexcept {
    return a >= low && a + n <= high && a + n >= a;
  }
};

// Walks saved frame pointers starting at (pc, fp), reading only inside `bounds`. Stores up to
// `max` return addresses in `out` (pc first); returns how many. Async-signal-safe.
std::size_t walk_frames(std::uintptr_t pc, std::uintptr_t fp, stack_bounds bounds,
                        std::uintptr_t* out, std::size_t max) noexcept;

// The first frame of a suspended fiber: `fctx` is its saved context (switch_frame::context).
// x86-64 layout of the save area (context/context_switch.hpp; the owned switch and Boost's
// jump_fcontext agree): mxcsr/x87 control words, r12, r13, r14, r15, rbx, rbp, then the
// return address.
std::size_t walk_suspended(const void* fctx, stack_bounds bounds, std::uintptr_t* out,
                           std::size_t max) noexcept;

// "function+0x1c (library)" for each address; a return address is looked up one byte back, so
// the line shown is the call, not the instruction after it.
std::vector<std::string> symbolize(const std::uintptr_t* pcs, std::size_t n);
std::string symbolize_one(std::uintptr_t pc, bool is_return_address);

}  // namespace balrog::detail
