#include "core/fiber/fiber_context.hpp"

#include <cstdlib>

#include "context/sanitizer.hpp"
#include "core/shard/scheduler.hpp"

namespace balrog::detail {

fiber_context::fiber_context(scheduler& s, std::string&& name, std::uint64_t id_,
                             std::size_t block_bytes, std::size_t block_align,
                             stack_kind stack_kind_, std::size_t stack_size) noexcept
    : joinable_context(kind::fiber, s, nullptr, std::move(name), id_),
      stack_kind_requested(stack_kind_),
      stack_size_requested(stack_size),
      block_bytes_(block_bytes),
      block_align_(block_align) {}

fiber_context::~fiber_context() {
  // A context never dies with its stack attached: a fiber gives it back when it ends, and
  // abandon_fiber when it never started.
  if (stack_owner != nullptr) std::abort();
  if (owns_task && task != nullptr) task->~fiber_task();  // it lives in our block
  sanitizer::tsan_destroy(frame.tsan_fiber);
}

void fiber_context::destroy() noexcept {
  scheduler& owner = sched;  // only compared with this thread's scheduler once we are gone
  const std::size_t bytes = block_bytes_;
  const std::size_t align = block_align_;
  void* block = this;
  this->~fiber_context();
  scheduler::free_context_block(owner, block, bytes, align);
}

void fiber_context::park(deadline until, wake_reason timeout_reason) noexcept {
  waiting_since = sched.loop_now();
  if (until.is_never()) {  // a join, a lock, a channel without deadline: no timer to touch
    sched.suspend();
    return;
  }
  arm_deadline(until, timeout_reason);
  sched.suspend();
  disarm_deadline();
}

}  // namespace balrog::detail
