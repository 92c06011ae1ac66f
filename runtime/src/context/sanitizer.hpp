// Announces fiber switches to AddressSanitizer and ThreadSanitizer.
//
// ASan tracks one stack per thread; without these calls it reports false stack-buffer errors
// when a fiber stack is unwound or when code runs on a stack it does not know. Built only when
// BALROG_ASAN is defined (the asan preset); otherwise every function is an empty inline.
// TSan keeps a shadow call stack and a vector clock per thread; each fiber gets its own TSan
// fiber (__tsan_create_fiber) and every switch says which one runs (BALROG_TSAN: the tsan
// preset). The switching code (core/shard/scheduler.cpp) is built without TSan's function
// entry/exit hooks: a frame entered on one fiber and left on another would unbalance both shadow
// stacks. A fiber's TSan fiber goes back to its thread's cache once it no longer runs
// (tsan_retire, tsan_fiber_cache).
#pragma once

#include <cstddef>
#if defined(BALROG_TSAN)
#include <pthread.h>

#include <atomic>
#include <utility>
#endif

#if defined(BALROG_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(BALROG_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace balrog::detail::sanitizer {

#if defined(BALROG_TSAN)
// TSan defers an asynchronous signal to the next atomic operation or interceptor of the TSan
// fiber that was current when it arrived, and keeps it with that fiber. A switch changes the
// current TSan fiber some time after the scheduler has moved on (longer when a TSan fiber must
// be made: about 5 ms), so a signal that arrives in between would wait for the leaving
// context's next turn, or be lost with an ending fiber's TSan fiber: the watchdog's signal went
// unanswered. One atomic operation right before the TSan fiber changes runs such a signal's
// handler there, while the scheduler already names the arriving context.
inline void tsan_take_pending_signals() noexcept {
  static std::atomic<int> safe_point{0};
  [[maybe_unused]] const int unused = safe_point.load(std::memory_order_relaxed);
}

// TSan fibers whose context ended, kept for the next contexts to start on this thread. Making
// one maps and clears TSan's state for it (about 5 ms, against a few ns for a fiber), which made
// every fiber's first switch a 5 ms stall under TSan and distorted each test that times fibers.
// Reuse hides no race: every switch on a thread synchronizes the two contexts (flags 0), so a
// context started on this thread already happens after every context that ended on it.
class tsan_fiber_cache {
 public:
  ~tsan_fiber_cache() {
    while (count_ > 0) __tsan_destroy_fiber(fibers_[--count_]);
  }
  void* take() noexcept { return count_ > 0 ? fibers_[--count_] : __tsan_create_fiber(0); }
  void give_back(void* fiber) noexcept {
    if (count_ < capacity) {
      fibers_[count_++] = fiber;
    } else {
      __tsan_destroy_fiber(fiber);
    }
  }
  // In a forked child: TSan fibers made before the fork are not valid there (a context given
  // one raced with its own thread in TSan's eyes). Left mapped, never used.
  void forget() noexcept { count_ = 0; }

 private:
  static constexpr int capacity = 16;  // TSan's state is about 1 MiB each
  void* fibers_[capacity] = {};
  int count_ = 0;
};

inline tsan_fiber_cache& tsan_fibers() noexcept {
  thread_local tsan_fiber_cache cache;
  [[maybe_unused]] static const bool forgotten_in_children =
      ::pthread_atfork(nullptr, nullptr, [] { tsan_fibers().forget(); }) == 0;
  return cache;
}

// A TSan fiber whose context ended or was freed while it still ran (a fiber's last steps):
// the next context to arrive on this thread takes it over or gives it back to the cache.
inline void*& tsan_dead_fiber() noexcept {
  thread_local void* dead = nullptr;
  return dead;
}
#endif

// TSan: `from` is the leaving context's TSan fiber (null the first time: the thread's own
// fiber, i.e. the loop), `to` the arriving one's (null the first time: one is taken from the
// cache). Called right before a switch.
[[gnu::always_inline]] inline void tsan_switch([[maybe_unused]] void*& from,
                                               [[maybe_unused]] void*& to) noexcept {
#if defined(BALROG_TSAN)
  if (from == nullptr) from = __tsan_get_current_fiber();
  if (to == nullptr) to = tsan_fibers().take();
  tsan_take_pending_signals();
  __tsan_switch_to_fiber(to, 0);
#endif
}

// TSan: first thing after arriving by a switch. A fiber that ends jumps away without a
// tsan_switch (its last instrumented frames unwind on its own shadow stack, which ends empty),
// so the arriving side makes itself current: a context that has no TSan fiber yet takes over
// the dead one, still current (the common spawn, run, end, next one), else one from the
// cache. The dead one, if not taken over, goes back to the cache.
[[gnu::always_inline]] inline void tsan_arrive([[maybe_unused]] void*& self) noexcept {
#if defined(BALROG_TSAN)
  void* dead = std::exchange(tsan_dead_fiber(), nullptr);
  if (dead == self) dead = nullptr;
  if (self == nullptr && dead != nullptr && dead == __tsan_get_current_fiber()) {
    self = std::exchange(dead, nullptr);
  }
  if (self == nullptr) self = tsan_fibers().take();
  if (__tsan_get_current_fiber() != self) {
    tsan_take_pending_signals();  // an ending fiber's TSan fiber may still be current: drain it
    __tsan_switch_to_fiber(self, 0);
  }
  if (dead != nullptr) tsan_fibers().give_back(dead);
#endif
}

// TSan: an ending fiber's last step before it jumps away: its TSan fiber leaves the context
// (which another thread may free at once, e.g. a join handle dropped there) and is handed to
// the next context to arrive on this thread, when it no longer runs.
[[gnu::always_inline]] inline void tsan_retire([[maybe_unused]] void*& fiber) noexcept {
#if defined(BALROG_TSAN)
  tsan_dead_fiber() = fiber;
  fiber = nullptr;
#endif
}

// TSan: frees a freed context's TSan fiber, or leaves it to the next arrival if it is the one
// running. Not cached: the context may have run on another thread, whose history this thread's
// next contexts must not inherit.
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
