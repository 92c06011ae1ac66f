#include "balrog/detail/execution_context.hpp"

#include "balrog/errors.hpp"
#include "core/scheduler.hpp"
#include "core/thread_context.hpp"

namespace balrog::detail {

wake_reason execution_context::wait(deadline own) {
  const bool scope_first = scope_deadline.when() < own.when();
  const deadline until = scope_first ? scope_deadline : own;
  const wake_reason on_timeout = scope_first ? wake_reason::scope_timeout : wake_reason::timeout;
  bool claimed_by_self = false;
  if (cancel_pending()) claimed_by_self = claim_self(wake_reason::cancelled);
  if (!claimed_by_self && until.expired()) claimed_by_self = claim_self(on_timeout);
  // A failed self-claim means a waker got there first and will make us runnable: park anyway.
  if (!claimed_by_self) park(until, on_timeout);
  const std::uint32_t s = state_.load(std::memory_order_acquire);
  state_.store(running, std::memory_order_relaxed);
  return static_cast<wake_reason>(s - woken_base);
}

bool execution_context::claim_self(wake_reason why) noexcept {
  std::uint32_t expected = waiting;
  return state_.compare_exchange_strong(expected, woken_base + static_cast<std::uint32_t>(why),
                                        std::memory_order_acq_rel);
}

bool execution_context::try_wake(wake_reason why) noexcept {
  if (!claim_self(why)) return false;
  unpark();
  return true;
}

void execution_context::request_cancel() noexcept {
  cancel_requested_.store(true, std::memory_order_release);
  if (shield_depth_ == 0) try_wake(wake_reason::cancelled);
}

void execution_context::leave_shield() noexcept { --shield_depth_; }

execution_context& current_context() noexcept {
  scheduler* s = scheduler::current();
  if (s != nullptr && s->running() != nullptr) return *s->running();
  return thread_context::current();
}

void throw_if_failed(wake_reason why) {
  switch (why) {
    case wake_reason::notified:
    case wake_reason::timeout:
      return;
    case wake_reason::scope_timeout:
      throw timeout_error();
    case wake_reason::cancelled:
      throw cancelled();
  }
}

}  // namespace balrog::detail
