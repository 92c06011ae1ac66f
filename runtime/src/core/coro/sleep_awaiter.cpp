#include "balrog/errors.hpp"
#include "balrog/sleep.hpp"
#include "core/shard/scheduler.hpp"

namespace balrog {

bool sleep_awaiter::await_suspend(std::coroutine_handle<> h) {
  detail::require_scheduler("balrog::sleep_for");
  ctx_ = &detail::current_context();
  if (ctx_->is_fiber() && until_ <= clock::now()) {
    // A chain under balrog::await on a fiber: its driver's wait returns at once for a past
    // time, so yield here, as this_fiber::sleep_for(0) does (a task yields by requeueing
    // itself in suspend_coroutine). Cancellation and an expired scope are reported instead.
    yielded_ = true;
    if (!ctx_->cancel_pending() && !ctx_->scope_deadline.expired()) {
      detail::scheduler::current()->yield();
    }
    return false;  // resume at once
  }
  ctx_->prepare_wait();
  ctx_->waiting_on = "sleep";
  ctx_->suspend_coroutine(h, until_);
  return true;
}

void sleep_awaiter::await_resume() const {
  if (yielded_) {
    detail::throw_if_interrupted(*ctx_);
    return;
  }
  ctx_->waiting_on = nullptr;
  const detail::wake_reason why = ctx_->last_wake;
  if (why != detail::wake_reason::timeout) detail::throw_if_failed(why);
}

}  // namespace balrog
