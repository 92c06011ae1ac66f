// balrog/sync/recursive_mutex.hpp — std::recursive_mutex and std::recursive_timed_mutex twins.
//
// The owner is the execution context that locked it: a fiber, a coroutine task or (sync mode)
// a plain thread. The owner may lock it again; it is released when unlock() was called as many
// times as it was locked. Waiting for another owner suspends the fiber (balrog::mutex
// underneath), with balrog::mutex's guarantees: FIFO hand-over, and lock() is a suspension
// point that throws balrog::cancelled / balrog::timeout_error (enclosing deadline_scope)
// without taking the mutex. balrog-gen's sync-types pass rewrites std::recursive_mutex and
// std::recursive_timed_mutex to them.
//
//  lock(), try_lock(), try_lock_for(d), try_lock_until(t), unlock()   as std's.
//  unlock() by a context that does not hold it ends the process with a message.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

#include "balrog/detail/execution_context.hpp"
#include "balrog/sync/mutex.hpp"

namespace balrog {

class recursive_mutex {
 public:
  recursive_mutex() = default;
  recursive_mutex(const recursive_mutex&) = delete;
  recursive_mutex& operator=(const recursive_mutex&) = delete;

  void lock() {
    if (reenter()) return;
    inner_.lock();
    own();
  }
  [[nodiscard]] bool try_lock() noexcept {
    if (reenter()) return true;
    if (!inner_.try_lock()) return false;
    own();
    return true;
  }
  template <class Rep, class Period>
  [[nodiscard]] bool try_lock_for(std::chrono::duration<Rep, Period> d) {
    if (reenter()) return true;
    if (!inner_.try_lock_for(d)) return false;
    own();
    return true;
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_lock_until(std::chrono::time_point<Clock, Duration> t) {
    if (reenter()) return true;
    if (!inner_.try_lock_until(t)) return false;
    own();
    return true;
  }
  void unlock();

 private:
  // Only the owner ever stores itself in owner_, so reading our own address there means we
  // hold it (and nobody else can change owner_ or depth_ meanwhile).
  bool reenter() noexcept {
    if (owner_.load(std::memory_order_relaxed) != &detail::current_context()) return false;
    ++depth_;
    return true;
  }
  void own() noexcept {
    owner_.store(&detail::current_context(), std::memory_order_relaxed);
    depth_ = 1;
  }

  mutex inner_;
  std::atomic<const detail::execution_context*> owner_{nullptr};
  std::size_t depth_ = 0;
};

// Every balrog recursive_mutex has the timed operations.
using recursive_timed_mutex = recursive_mutex;

}  // namespace balrog
