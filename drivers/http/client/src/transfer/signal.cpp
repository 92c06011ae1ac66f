#include "transfer/signal.hpp"

namespace balrog::http::detail {

void transfer_signal::notify() noexcept {
  pending_ = true;
  if (balrog::detail::execution_context* w = waiter_) {
    waiter_ = nullptr;
    w->try_wake(balrog::detail::wake_reason::notified);
  }
}

bool transfer_signal::awaiter::await_ready() noexcept {
  if (!s_.pending_) return false;
  s_.pending_ = false;
  return true;
}

void transfer_signal::awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  ctx_ = &balrog::detail::current_context();
  ctx_->prepare_wait();
  s_.waiter_ = ctx_;
  ctx_->waiting_on = "http-transfer";
  ctx_->suspend_coroutine(h, until_);
}

transfer_signal::awaiter::~awaiter() {
  if (ctx_ != nullptr && s_.waiter_ == ctx_) s_.waiter_ = nullptr;
}

bool transfer_signal::awaiter::await_resume() {
  if (ctx_ == nullptr) return true;  // was ready
  ctx_->waiting_on = nullptr;
  if (s_.waiter_ == ctx_) s_.waiter_ = nullptr;  // woken by a deadline or a cancellation
  const balrog::detail::wake_reason why = ctx_->last_wake;
  ctx_ = nullptr;
  if (s_.pending_) {  // news, even if a deadline raced it
    s_.pending_ = false;
    return true;
  }
  if (why == balrog::detail::wake_reason::timeout) return false;
  balrog::detail::throw_if_failed(why);
  return true;  // notified without news: a spurious wake-up, look again
}

}  // namespace balrog::http::detail
