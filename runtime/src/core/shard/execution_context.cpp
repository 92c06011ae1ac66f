#include "balrog/detail/execution_context.hpp"

#include <string>

#include "balrog/errors.hpp"
#include "core/coro/task_context.hpp"
#include "core/shard/scheduler.hpp"
#include "core/shard/thread_context.hpp"

namespace balrog::detail {

bool execution_context::claim_before_parking(deadline own, deadline& until,
                                             wake_reason& on_timeout) noexcept {
  const wait_bound b = bound_of(own);
  until = b.until;
  on_timeout = b.on_timeout;
  if (cancel_pending() && claim_self(wake_reason::cancelled)) return true;
  return until.expired() && claim_self(on_timeout);
}

bool execution_context::withdraw_wait() noexcept {
  if (!claim_self(wake_reason::notified)) return false;
  state_.store(running, std::memory_order_relaxed);
  return true;
}

void execution_context::suspend_coroutine(std::coroutine_handle<> h, deadline own) noexcept {
  pending_resume = h;
  pending_deadline = own;
}

bool execution_context::claim_self(wake_reason why) noexcept {
  std::uint32_t was = 0;
  return claim_waiting(why, was);
}

bool execution_context::claim_waiting(wake_reason why, std::uint32_t& was) noexcept {
  const std::uint32_t woken = woken_base + static_cast<std::uint32_t>(why);
  was = waiting;
  if (state_.compare_exchange_strong(was, woken, std::memory_order_acq_rel)) return true;
  // Only a plain thread's word is ever `sleeping` (thread_context::park).
  return was == sleeping && state_.compare_exchange_strong(was, woken, std::memory_order_acq_rel);
}

bool execution_context::try_wake(wake_reason why) noexcept {
  wake_token token;
  if (!claim(why, token)) return false;
  wake(token);
  return true;
}

bool execution_context::claim(wake_reason why, wake_token& token) noexcept {
  // The last touch (J in the runtime review): a plain thread may leave wait() and exit as soon
  // as the claim lands, so nothing of it is read after the claim (not even its vtable); its
  // futex is woken by address. A fiber or task cannot run before unpark() queues it.
  if (is_thread_) {
    std::atomic<std::uint32_t>* const word = &state_;
    std::uint32_t was = 0;
    if (!claim_waiting(why, was)) return false;
    // A thread that had not gone to sleep yet (it spins first: thread_context::park) sees the
    // claim by itself: no futex wake, which is a system call even with nobody on the futex
    // (a fiber and a thread in ping-pong paid one per round trip).
    token = {nullptr, was == sleeping ? word : nullptr};
    return true;
  }
  if (!claim_self(why)) return false;
  token = {this, nullptr};
  return true;
}

void execution_context::wake(const wake_token& token) noexcept {
  if (token.word != nullptr) {
    thread_context::wake(token.word);
  } else if (token.ctx != nullptr) {
    token.ctx->unpark();
  }  // else a plain thread that was not asleep: it saw the claim itself
}

void execution_context::request_cancel() noexcept {
  cancel_requested_.store(true, std::memory_order_release);
  if (shield_depth_ == 0) try_wake(wake_reason::cancelled);
}

void execution_context::leave_shield() noexcept { --shield_depth_; }

execution_context& current_context() noexcept {
  if (scheduler* s = scheduler::current()) {
    if (fiber_context* f = s->running()) return *f;
    if (task_context* t = s->running_task()) return *t;
  }
  return thread_context::current();
}

misuse_place misuse_here(const execution_context& ctx) noexcept {
  if (ctx.in_coroutine_code()) return misuse_place::coroutine;
  // Not a fiber, and this thread's scheduler runs: its loop (tasks count as coroutine code).
  if (!ctx.is_fiber() && scheduler::current() != nullptr) return misuse_place::loop;
  return misuse_place::none;
}

void throw_misuse(misuse_place where, std::string_view what) {
  if (where == misuse_place::loop) {
    throw usage_error("balrog: " + std::string(what) +
                      " on a scheduler's loop (a posted task or a callback), which must never "
                      "wait; spawn a fiber or a task instead");
  }
  throw usage_error("balrog: " + std::string(what) +
                    " inside a C++20 coroutine would stall every fiber and coroutine of the "
                    "shard; use its co_await form (or balrog::on_fiber)");
}

void refuse_in_coroutine(const execution_context& ctx, std::string_view what) {
  if (misuse_here(ctx) == misuse_place::coroutine) throw_misuse(misuse_place::coroutine, what);
}

void throw_if_interrupted(const execution_context& ctx) {
  if (ctx.cancel_pending()) throw cancelled();
  if (ctx.scope_deadline.expired()) throw timeout_error();
}

void require_scheduler(std::string_view what) {
  if (scheduler::current() != nullptr) return;
  throw usage_error("co_await " + std::string(what) +
                    ": no balrog scheduler runs on this thread; drive the coroutine with "
                    "balrog::await or start it with balrog::spawn_task");
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
    case wake_reason::misuse:
      throw_misuse(misuse_place::coroutine);
  }
}

}  // namespace balrog::detail
