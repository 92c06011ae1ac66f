// balrog/sync/semaphore.hpp — a counting semaphore that suspends fibers.
//
// Holds a count of permits. acquire() takes one, waiting while there is none; release(n) adds
// n, handing them to waiters first, in FIFO order. Typical use: bound how many fibers do
// something at once (connections to a service, concurrent offloads). Works on fibers, plain
// threads and across shards.
//
//  semaphore(n)                    n >= 0, else usage_error.
//  acquire()                       Suspension point: throws balrog::cancelled and
//                                  balrog::timeout_error (enclosing deadline_scope).
//  try_acquire()                   Never waits.
//  try_acquire_for/_until          Wait at most until their own time; false on timeout.
//  release(n = 1)                  n >= 0, else usage_error. Never waits.
//  available()                     Permits not taken now (a snapshot).
#pragma once

#include <chrono>
#include <cstddef>

#include "balrog/deadline.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog {

class semaphore {
 public:
  explicit semaphore(std::ptrdiff_t initial);
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  void acquire() { take(deadline::never()); }
  [[nodiscard]] bool try_acquire() noexcept;
  template <class Rep, class Period>
  [[nodiscard]] bool try_acquire_for(std::chrono::duration<Rep, Period> d) {
    return take(deadline(d));
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_acquire_until(std::chrono::time_point<Clock, Duration> t) {
    return take(deadline(t));
  }
  void release(std::ptrdiff_t n = 1);
  [[nodiscard]] std::ptrdiff_t available() const noexcept;

 private:
  bool take(deadline own);

  mutable detail::spinlock lock_;
  std::ptrdiff_t count_;
  detail::wait_queue waiters_;
};

}  // namespace balrog
