// balrog/sync/mutex.hpp — a mutex that suspends fibers instead of blocking threads.
//
// Use it wherever fibers share data across suspension points. A fiber that blocks on a
// std::mutex stalls its whole shard (every fiber of the thread); a fiber that waits for a
// balrog::mutex suspends and the shard runs on. It also works between plain threads (sync
// mode: the thread parks), and between fibers of different shards.
//
// Meets the standard Lockable and TimedLockable requirements, so std::lock_guard,
// std::unique_lock and std::scoped_lock work with it; balrog-gen's sync-types pass rewrites
// std::mutex and std::timed_mutex to it.
//
// Ownership passes in FIFO order: unlock() hands the mutex straight to the longest waiter, so
// no waiter starves.
//
//  lock()             Waits as long as needed. A suspension point: throws balrog::cancelled when
//                     the fiber is cancelled and balrog::timeout_error when an enclosing
//                     deadline_scope passes, and then does not hold the mutex. Throws
//                     usage_error if the caller already holds it (it is not recursive).
//  try_lock()         Never waits.
//  try_lock_for(d)    Waits at most d; false on timeout (like std::timed_mutex). A zero or
//  try_lock_until(t)  negative d, or a past t, still takes a free mutex.
//  unlock()           Must be called by the holder; anything else ends the process with a
//                     message (a documented assertion: the standard calls it undefined).
#pragma once

#include <chrono>

#include "balrog/deadline.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog {

class mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock() { acquire(deadline::never()); }
  [[nodiscard]] bool try_lock() noexcept;
  template <class Rep, class Period>
  [[nodiscard]] bool try_lock_for(std::chrono::duration<Rep, Period> d) {
    return acquire(deadline(d));
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_lock_until(std::chrono::time_point<Clock, Duration> t) {
    return acquire(deadline(t));
  }
  void unlock();

 private:
  bool acquire(deadline own);

  detail::spinlock lock_;
  bool locked_ = false;
  const detail::execution_context* owner_ = nullptr;
  detail::wait_queue waiters_;
};

// std::timed_mutex's twin is the same type: every balrog::mutex has the timed operations.
using timed_mutex = mutex;

}  // namespace balrog
