// balrog/sync/shared_mutex.hpp — a reader-writer lock that suspends fibers.
//
// Many readers or one writer. Meets the standard SharedTimedLockable requirements
// (std::shared_lock, std::unique_lock work with it); balrog-gen's sync-types pass rewrites
// std::shared_mutex and std::shared_timed_mutex to it. Works on fibers, plain threads and
// across shards.
//
// Fairness: a waiting writer blocks new readers (writers do not starve), and when a writer
// unlocks, every reader waiting at that moment goes first (readers do not starve either).
// A writer that gives up waiting (timeout, cancellation) lets the readers it held back in.
//
//  lock(), lock_shared()            Suspension points: throw balrog::cancelled and
//                                   balrog::timeout_error (enclosing deadline_scope).
//  try_lock(), try_lock_shared()    Never wait.
//  try_lock_for/_until,             Wait at most until their own time; false on timeout.
//  try_lock_shared_for/_until
//  unlock(), unlock_shared()        Must match a lock; a mismatch ends the process with a
//                                   message (documented assertion).
#pragma once

#include <chrono>
#include <cstddef>

#include "balrog/deadline.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog {

class shared_mutex {
 public:
  shared_mutex() = default;
  shared_mutex(const shared_mutex&) = delete;
  shared_mutex& operator=(const shared_mutex&) = delete;

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

  void lock_shared() { acquire_shared(deadline::never()); }
  [[nodiscard]] bool try_lock_shared() noexcept;
  template <class Rep, class Period>
  [[nodiscard]] bool try_lock_shared_for(std::chrono::duration<Rep, Period> d) {
    return acquire_shared(deadline(d));
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_lock_shared_until(std::chrono::time_point<Clock, Duration> t) {
    return acquire_shared(deadline(t));
  }
  void unlock_shared();

 private:
  bool acquire(deadline own);
  bool acquire_shared(deadline own);
  // With lock_ held: lets in every waiting reader; returns how many.
  std::size_t admit_readers() noexcept;
  // With lock_ held: hands the lock to the first waiting writer, if any.
  bool admit_writer() noexcept;

  detail::spinlock lock_;
  bool writer_ = false;
  std::size_t readers_ = 0;
  const detail::execution_context* writer_owner_ = nullptr;
  detail::wait_queue waiting_writers_;
  detail::wait_queue waiting_readers_;
};

using shared_timed_mutex = shared_mutex;

}  // namespace balrog
