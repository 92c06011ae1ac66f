// Announces fiber switches to AddressSanitizer and ThreadSanitizer.
//
// ASan tracks one stack per thread; without these calls it reports false stack-buffer errors
// when a fiber stack is unwound or when code runs on a stack it does not know. Built only when
// BALROG_ASAN is defined (the asan preset); otherwise every function is an empty inline.
// TSan keeps a shadow call stack and a vector clock per thread; each fiber gets its own TSan
// fiber (__tsan_create_fiber) and every switch says which one runs (BALROG_TSAN: the tsan
// preset). The switching code (core/shard/scheduler.cpp) is built without TSan's function
// entry/exit hooks: a frame entered on one fiber and left on another would unbalance both shadow
// stacks. A fiber's TSan fiber is destroyed on its own thread once it no longer runs (tsan_retire).
#pragma once

#include <cstddef>

#if defined(BALROG_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(BALROG_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace balrog::detail::sanitizer {

// TSan: `from` is the leaving context's TSan fiber (null the first time: the thread's own
// fiber, i.e. the loop), `to` the arriving one's (null the first time: a new fiber is made).
// Called right before a switch.
[[gnu::always_inline]] inline void tsan_switch([[maybe_unused]] void*& from,
                                               [[maybe_unused]] void*& to) noexcept {
#if defined(BALROG_TSAN)
  if (from == nullptr) from = __tsan_get_current_fiber();
  if (to == nullptr) to = __tsan_create_fiber(0);
  __tsan_switch_to_fiber(to, 0);
#endif
}

#if defined(BALROG_TSAN)
// A TSan fiber whose context was freed while it still ran (a fiber's last steps): destroyed by
// the next context to arrive on this thread.
inline void*& tsan_dead_fiber() noexcept {
  thread_local void* dead = nullptr;
  return dead;
}
#endif

// TSan: first thing after arriving by a switch. A fiber that ends jumps away without a
// tsan_switch (its last instrumented frames unwind on its own shadow stack), so the arriving
// side makes itself current (creating its TSan fiber the first time), then frees the dead one.
[[gnu::always_inline]] inline void tsan_arrive([[maybe_unused]] void*& self) noexcept {
#if defined(BALROG_TSAN)
  if (self == nullptr) self = __tsan_create_fiber(0);
  if (__tsan_get_current_fiber() != self) __tsan_switch_to_fiber(self, 0);
  if (void* dead = tsan_dead_fiber(); dead != nullptr && dead != self) {
    tsan_dead_fiber() = nullptr;
    __tsan_destroy_fiber(dead);
  }
#endif
}

// TSan: an ending fiber's last step before it jumps away: its TSan fiber leaves the context
// (which another thread may free at once, e.g. a join handle dropped there) and is destroyed by
// the next context to arrive on this thread, when it no longer runs.
[[gnu::always_inline]] inline void tsan_retire([[maybe_unused]] void*& fiber) noexcept {
#if defined(BALROG_TSAN)
  tsan_dead_fiber() = fiber;
  fiber = nullptr;
#endif
}

// TSan: frees a fiber's TSan fiber, or leaves it to the next arrival if it is the one running.
inline void tsan_destroy([[maybe_unused]] void* fiber) noexcept {
#if defined(BALROG_TSAN)
  if (fiber == nullptr) return;
  if (fiber == __tsan_get_current_fiber()) {
    tsan_dead_fiber() = fiber;
  } else {
    __tsan_destroy_fiber(fiber);
  }
#endif
}

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

// Marks memory the program must not touch until unpoisoned (a cached, logically freed block).
inline void poison([[maybe_unused]] const void* begin, [[maybe_unused]] std::size_t size) noexcept {
#if defined(BALROG_ASAN)
  __asan_poison_memory_region(begin, size);
#endif
}

}  // namespace balrog::detail::sanitizer
