// balrog/sync/wait_group.hpp — wait for a group of fibers (or threads) to finish, Go style.
//
//   balrog::wait_group wg;
//   for (auto& job : jobs) {
//     wg.add();
//     balrog::spawn([&wg, &job] { run(job); wg.done(); }).detach();
//   }
//   wg.wait();
//
//  add(n = 1)            Adds n (may be negative) to the counter; reaching zero wakes every
//                        waiter. A counter below zero is a usage_error (nothing changes).
//  done()                add(-1).
//  count()               A snapshot.
//  wait()                Returns when the counter is zero (at once if it is). Suspension point:
//                        throws balrog::cancelled and balrog::timeout_error (deadline_scope).
//  wait_for/wait_until   With their own time limit: false when it passed first.
#pragma once

#include <chrono>
#include <cstddef>

#include "balrog/deadline.hpp"
#include "balrog/detail/gate.hpp"

namespace balrog {

class wait_group {
 public:
  wait_group();
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  void add(std::ptrdiff_t n = 1);
  void done() { add(-1); }
  [[nodiscard]] std::ptrdiff_t count() const noexcept;

  void wait() { gate_.wait(deadline::never(), "wait_group"); }
  template <class Rep, class Period>
  [[nodiscard]] bool wait_for(std::chrono::duration<Rep, Period> d) {
    return gate_.wait(deadline(d), "wait_group");
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool wait_until(std::chrono::time_point<Clock, Duration> t) {
    return gate_.wait(deadline(t), "wait_group");
  }

 private:
  mutable detail::gate gate_;  // open exactly while count_ == 0
  std::ptrdiff_t count_ = 0;   // guarded by gate_.lock()
};

}  // namespace balrog
