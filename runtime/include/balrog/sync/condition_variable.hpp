// balrog/sync/condition_variable.hpp — condition variables that suspend fibers.
//
// condition_variable works with std::unique_lock<balrog::mutex>; condition_variable_any with
// any lock whose lock() is balrog-aware (std::unique_lock<balrog::shared_mutex>,
// std::shared_lock<balrog::shared_mutex>, ...). Both behave like their std:: namesakes,
// including spurious wake-ups being allowed (use the predicate forms), and both work on fibers,
// on plain threads and across shards. balrog-gen's sync-types pass rewrites
// std::condition_variable and std::condition_variable_any to them.
//
//  wait(lock)                Suspension point. Re-acquires the lock before it returns or
//                            throws. Throws balrog::cancelled when the fiber is cancelled and
//                            balrog::timeout_error when an enclosing deadline_scope passes.
//  wait(lock, pred)          Loops until pred() holds.
//  wait_for / wait_until     Return std::cv_status::timeout (or, with a predicate, pred()) when
//                            their own time is up, as the standard ones do; an enclosing
//                            deadline_scope still throws timeout_error.
//  notify_one / notify_all   Never block; callable from any thread, with or without the lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <type_traits>

#include "balrog/deadline.hpp"
#include "balrog/detail/cv_wait.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "balrog/sync/mutex.hpp"

namespace balrog {

namespace detail {

// The shared body of condition_variable (AnyLock = false: std::unique_lock<balrog::mutex>
// only) and condition_variable_any.
template <bool AnyLock>
class basic_condition_variable {
  template <class L>
  static constexpr bool accepts = AnyLock || std::is_same_v<L, std::unique_lock<mutex>>;

 public:
  basic_condition_variable() = default;
  basic_condition_variable(const basic_condition_variable&) = delete;
  basic_condition_variable& operator=(const basic_condition_variable&) = delete;

  void notify_one() noexcept {
    std::lock_guard lk(lock_);
    waiters_.wake_one();
  }
  void notify_all() noexcept {
    std::lock_guard lk(lock_);
    waiters_.wake_all();
  }

  template <class L>
    requires accepts<L>
  void wait(L& lock) {
    throw_if_failed(cv_wait(lock_, waiters_, lock, deadline::never()));
  }
  template <class L, class Predicate>
    requires accepts<L>
  void wait(L& lock, Predicate pred) {
    while (!pred()) wait(lock);
  }

  template <class L, class Clock, class Duration>
    requires accepts<L>
  std::cv_status wait_until(L& lock, std::chrono::time_point<Clock, Duration> t) {
    const wake_reason why = cv_wait(lock_, waiters_, lock, deadline(t));
    throw_if_failed(why);
    return why == wake_reason::timeout ? std::cv_status::timeout : std::cv_status::no_timeout;
  }
  template <class L, class Clock, class Duration, class Predicate>
    requires accepts<L>
  bool wait_until(L& lock, std::chrono::time_point<Clock, Duration> t, Predicate pred) {
    const deadline until(t);
    while (!pred()) {
      if (wait_until(lock, until.when()) == std::cv_status::timeout) return pred();
    }
    return true;
  }
  template <class L, class Rep, class Period>
    requires accepts<L>
  std::cv_status wait_for(L& lock, std::chrono::duration<Rep, Period> d) {
    return wait_until(lock, deadline(d).when());
  }
  template <class L, class Rep, class Period, class Predicate>
    requires accepts<L>
  bool wait_for(L& lock, std::chrono::duration<Rep, Period> d, Predicate pred) {
    return wait_until(lock, deadline(d).when(), std::move(pred));
  }

 private:
  spinlock lock_;
  wait_queue waiters_;
};

}  // namespace detail

// For std::unique_lock<balrog::mutex>.
class condition_variable : public detail::basic_condition_variable<false> {};

// For any BasicLockable whose waits are balrog-aware.
class condition_variable_any : public detail::basic_condition_variable<true> {};

}  // namespace balrog
