// balrog/detail/spinlock.hpp — the short lock inside every sync primitive.
//
// Held only for a few instructions (queue manipulation, never across a suspension), so a
// test-and-test-and-set lock beats a futex-based mutex. A waiter that spins too long yields
// the thread: the holder may have been preempted.
#pragma once

#include <atomic>
#include <thread>

namespace balrog::detail {

class spinlock {
 public:
  void lock() noexcept {
    for (unsigned spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) {
          std::this_thread::yield();  // NOBALROG: yields the OS thread a holder runs on
          spins = 0;
        } else {
          __builtin_ia32_pause();
        }
      }
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace balrog::detail
