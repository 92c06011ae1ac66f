// balrog/sync/latch.hpp — std::latch's twin: a single-use countdown that fibers wait on.
//
// count_down(n) lowers the counter; when it reaches zero every waiter wakes and later waits
// pass at once. wait() and arrive_and_wait() suspend the fiber (suspension points:
// balrog::cancelled, balrog::timeout_error from an enclosing deadline_scope). Works on fibers,
// plain threads and across shards. balrog-gen's sync-types pass rewrites std::latch to it.
//
// Differences from std: the constructor is not constexpr; a negative count, and counting
// down more than is left, throw balrog::usage_error (the standard calls them undefined).
#pragma once

#include <atomic>
#include <cstddef>
#include <limits>

#include "balrog/sync/event.hpp"

namespace balrog {

class latch {
 public:
  [[nodiscard]] static constexpr std::ptrdiff_t max() noexcept {
    return std::numeric_limits<std::ptrdiff_t>::max();
  }

  explicit latch(std::ptrdiff_t expected);
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  void count_down(std::ptrdiff_t n = 1);
  [[nodiscard]] bool try_wait() const noexcept {
    return count_.load(std::memory_order_acquire) == 0;
  }
  void wait() const;
  void arrive_and_wait(std::ptrdiff_t n = 1) {
    count_down(n);
    wait();
  }

 private:
  std::atomic<std::ptrdiff_t> count_;
  mutable event zero_;
};

}  // namespace balrog
