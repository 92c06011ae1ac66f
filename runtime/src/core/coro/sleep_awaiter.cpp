#include "balrog/errors.hpp"
#include "balrog/sleep.hpp"
#include "core/shard/scheduler.hpp"

namespace balrog {

void sleep_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (detail::scheduler::current() == nullptr) {
    throw usage_error(
        "co_await balrog::sleep_for: no balrog scheduler runs on this thread; drive the coroutine "
        "with balrog::await or start it with balrog::spawn_task");
  }
  ctx_ = &detail::current_context();
  ctx_->prepare_wait();
  ctx_->waiting_on = "sleep";
  ctx_->suspend_coroutine(h, until_);
}

void sleep_awaiter::await_resume() const {
  ctx_->waiting_on = nullptr;
  const detail::wake_reason why = ctx_->last_wake;
  if (why != detail::wake_reason::timeout) detail::throw_if_failed(why);
}

}  // namespace balrog
