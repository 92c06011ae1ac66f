#include "core/coro/task_context.hpp"

#include "core/shard/scheduler.hpp"

namespace balrog::detail {

task_context::task_context(scheduler& s, std::string&& name, std::uint64_t id_,
                           std::coroutine_handle<> driver, fiber_task* outcome,
                           driver_state& st) noexcept
    : joinable_context(kind::task, s, outcome, std::move(name), id_),
      state(st),
      driver_(driver),
      next_(driver) {
  done_node.owner = this;
}

task_context::~task_context() {
  if (driver_) driver_.destroy();
}

void task_context::suspend_coroutine(std::coroutine_handle<> h, deadline own) noexcept {
  next_ = h;
  waiting_ = true;
  waiting_since = sched.loop_now();
  deadline until;
  wake_reason on_timeout{};
  if (claim_before_parking(own, until, on_timeout)) {
    sched.schedule(*this);  // claimed ourselves: run again at once
    return;
  }
  arm_deadline(until, on_timeout);
}

bool task_context::step() {
  if (waiting_) {
    // Q in the runtime review: a stale queue entry (a remote waker queued us after the misuse
    // path's non-parking wait) must not resume a later wait nobody has claimed yet.
    if (!claimed()) return false;
    waiting_ = false;
    disarm_deadline();
    last_wake = consume_wake();
  }
  const std::coroutine_handle<> h = std::exchange(next_, {});
  if (!h) return false;  // see park(): a stale run
  state.unpark();
  ++coroutine_depth;
  h.resume();
  --coroutine_depth;
  // Not completed: parked until a balrog awaitable wakes us (next_ set) or a foreign one
  // completes the chain elsewhere (task_done then reports it). Completed: ours to report.
  return !state.park();
}

void task_context::park(deadline /*until*/, wake_reason /*timeout_reason*/) noexcept {
  // Reached only when a blocking call inside the task's coroutine lost the race to claim
  // itself (wake_reason::misuse) to a real waker on another thread. That waker queued us; the
  // wait simply succeeds, and step() ignores the extra run.
}

}  // namespace balrog::detail
