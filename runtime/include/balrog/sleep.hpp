// balrog/sleep.hpp — timers for coroutine code.
//
//   co_await balrog::sleep_for(250ms);
//
// The coroutine forms of this_fiber::sleep_for / sleep_until: the awaiting coroutine is
// resumed by its shard's reactor when the time comes. A past time resumes at once, after
// everything else that is ready ran (a yield). Throws cancelled when the coroutine's task
// (or the fiber driving it) is cancelled, and timeout_error when an enclosing deadline_scope
// passes first.
#pragma once

#include <chrono>
#include <coroutine>

#include "balrog/deadline.hpp"

namespace balrog {

namespace detail {
class execution_context;
}

class [[nodiscard]] sleep_awaiter {
 public:
  using balrog_resumes_home = void;  // the wait protocol: resumed on its own context
  explicit sleep_awaiter(clock::time_point until) noexcept : until_(until) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() const;

 private:
  clock::time_point until_;
  detail::execution_context* ctx_ = nullptr;
  bool yielded_ = false;  // a past time in a chain on a fiber: yielded the fiber instead
};

[[nodiscard]] inline sleep_awaiter sleep_until(clock::time_point until) noexcept {
  return sleep_awaiter(until);
}

template <class Rep, class Period>
[[nodiscard]] sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) {
  return sleep_awaiter(deadline(d).when());
}

}  // namespace balrog
