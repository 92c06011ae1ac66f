// Announces fiber switches to AddressSanitizer.
//
// ASan tracks one stack per thread; without these calls it reports false stack-buffer errors
// when a fiber stack is unwound or when code runs on a stack it does not know. Built only when
// BALROG_ASAN is defined (the asan preset); otherwise every function is an empty inline.
#pragma once

#include <cstddef>

#if defined(BALROG_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace balrog::detail::sanitizer {

// Before switching away: `fake_stack` saves the leaving context's fake stack, or is null when
// the leaving context will never run again.
inline void start_switch([[maybe_unused]] void** fake_stack, [[maybe_unused]] const void* bottom,
                         [[maybe_unused]] std::size_t size) noexcept {
#if defined(BALROG_ASAN)
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#endif
}

// First thing after arriving: reports the stack we came from.
inline void finish_switch([[maybe_unused]] void* fake_stack,
                          [[maybe_unused]] const void** old_bottom,
                          [[maybe_unused]] std::size_t* old_size) noexcept {
#if defined(BALROG_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, old_bottom, old_size);
#endif
}

// Clears ASan's shadow for a stack about to be (re)used. A fiber never returns from its
// outermost frames (it jumps away), so their redzones stay poisoned; and a fresh mapping may
// reuse addresses whose shadow still describes an earlier stack.
inline void unpoison([[maybe_unused]] const void* bottom,
                     [[maybe_unused]] std::size_t size) noexcept {
#if defined(BALROG_ASAN)
  __asan_unpoison_memory_region(bottom, size);
#endif
}

}  // namespace balrog::detail::sanitizer
