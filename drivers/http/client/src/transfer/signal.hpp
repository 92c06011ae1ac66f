// Waking the one context that waits for a transfer's news.
//
// A transfer is awaited by one coroutine at a time (the request, or the reader of a streaming
// response), on the thread that owns the transfer; libcurl's callbacks, run on the same thread
// by whoever drives the multi handle, call notify(). Nothing here is shared between threads.
#pragma once

#include <coroutine>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"

namespace balrog::http::detail {

class transfer_signal {
 public:
  transfer_signal() = default;
  transfer_signal(const transfer_signal&) = delete;
  transfer_signal& operator=(const transfer_signal&) = delete;

  // Something happened: wakes the waiter, or lets the next wait return at once.
  void notify() noexcept;

  class awaiter {
   public:
    awaiter(transfer_signal& s, deadline until) noexcept : s_(s), until_(until) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;
    ~awaiter();  // a coroutine destroyed while suspended here leaves the signal
    bool await_ready() noexcept;
    void await_suspend(std::coroutine_handle<> h) noexcept;
    // True when notified, false when `until` passed first; throws timeout_error for an
    // enclosing deadline_scope, cancelled.
    bool await_resume();

   private:
    transfer_signal& s_;
    deadline until_;
    balrog::detail::execution_context* ctx_ = nullptr;
  };

  // co_await it: true once notify() was called since the last wait.
  [[nodiscard]] awaiter wait(deadline until = deadline::never()) noexcept {
    return awaiter(*this, until);
  }

 private:
  balrog::detail::execution_context* waiter_ = nullptr;
  bool pending_ = false;
};

}  // namespace balrog::http::detail
