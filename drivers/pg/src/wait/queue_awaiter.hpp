// Waiting in a wait_queue from coroutine code (the driver's operations are tasks). A waker may
// hand something over: it writes through the payload and marks the waiter completed. Used by
// the connection (exclusive sections, notifications) and the pool (waiting for a connection).
#pragma once

#include <coroutine>
#include <optional>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "balrog/errors.hpp"

namespace balrog::pg::detail {

class queue_awaiter {
 public:
  queue_awaiter(balrog::detail::wait_queue& q, void* payload, const char* what,
                deadline until = deadline::never()) noexcept
      : q_(q), payload_(payload), what_(what), until_(until) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    balrog::detail::execution_context& ctx = balrog::detail::current_context();
    w_.emplace(ctx);
    w_->payload = payload_;
    ctx.prepare_wait();
    q_.push_back(*w_);
    ctx.waiting_on = what_;
    ctx.suspend_coroutine(h, until_);
  }
  // Returns normally when woken by a waker (completed() tells whether it handed something
  // over); throws timeout_error / cancelled when the deadline or a cancellation woke it.
  void await_resume() {
    balrog::detail::execution_context& ctx = *w_->ctx;
    ctx.waiting_on = nullptr;
    if (w_->linked) q_.erase(*w_);
    completed_ = w_->completed;
    w_.reset();
    if (completed_) return;
    // Our own deadline passing is not an error to throw_if_failed (a caller may treat it as
    // "no result"); here it means the wait failed.
    if (ctx.last_wake == balrog::detail::wake_reason::timeout) throw timeout_error();
    balrog::detail::throw_if_failed(ctx.last_wake);
  }
  [[nodiscard]] bool completed() const noexcept { return completed_; }

 private:
  balrog::detail::wait_queue& q_;
  void* payload_;
  const char* what_;
  deadline until_;
  std::optional<balrog::detail::waiter> w_;
  bool completed_ = false;
};

}  // namespace balrog::pg::detail
