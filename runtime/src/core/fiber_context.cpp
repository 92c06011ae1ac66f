#include "core/fiber_context.hpp"

#include <cstdlib>
#include <string>

#include "core/scheduler.hpp"

namespace balrog::detail {

fiber_context::fiber_context(scheduler& s, std::unique_ptr<fiber_task> owned, fiber_task& t,
                             fiber_options options, std::uint64_t id_)
    : sched(s),
      task(t),
      id(id_),
      name(options.name.empty() ? "fiber-" + std::to_string(id_) : std::move(options.name)),
      owned_task_(std::move(owned)) {}

fiber_context::~fiber_context() {
  // Destroying a suspended Boost fiber would unwind it with forced_unwind; balrog never lets a
  // context die before its fiber finished.
  if (frame.continuation) std::abort();
}

void fiber_context::park(deadline until, wake_reason timeout_reason) noexcept {
  if (!until.is_never()) {
    deadline_timer_.when = until.when();
    deadline_timer_.fire = &on_deadline;
    deadline_timer_.data = this;
    timeout_reason_ = timeout_reason;
    sched.timers().arm(deadline_timer_);
  }
  sched.suspend();
  sched.timers().disarm(deadline_timer_);
}

void fiber_context::unpark() noexcept { sched.schedule(*this); }

void fiber_context::on_deadline(timer_node& node) noexcept {
  auto* f = static_cast<fiber_context*>(node.data);
  f->try_wake(f->timeout_reason_);
}

}  // namespace balrog::detail
