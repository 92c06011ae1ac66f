#include "core/fiber_context.hpp"

#include <cstdlib>

#include "core/sanitizer.hpp"
#include "core/scheduler.hpp"

namespace balrog::detail {

fiber_context::fiber_context(scheduler& s, std::string&& name, std::uint64_t id_,
                             std::align_val_t block_align, stack_kind stack_kind_,
                             std::size_t stack_size) noexcept
    : joinable_context(kind::fiber, s, nullptr, std::move(name), id_),
      stack_kind_requested(stack_kind_),
      stack_size_requested(stack_size),
      block_align_(block_align) {}

fiber_context::~fiber_context() {
  // Destroying a suspended Boost fiber would unwind it with forced_unwind; balrog never lets a
  // context die before its fiber finished (abandon_fiber empties it first).
  if (frame.continuation) std::abort();
  if (owns_task && task != nullptr) task->~fiber_task();  // it lives in our block
  sanitizer::tsan_destroy(frame.tsan_fiber);
}

std::size_t fiber_context::task_offset(std::size_t task_align) noexcept {
  return (sizeof(fiber_context) + task_align - 1) / task_align * task_align;
}

void fiber_context::destroy() noexcept {
  const std::align_val_t align = block_align_;
  void* block = this;
  this->~fiber_context();
  ::operator delete(block, align);
}

void fiber_context::park(deadline until, wake_reason timeout_reason) noexcept {
  waiting_since = sched.loop_now();
  arm_deadline(until, timeout_reason);
  sched.suspend();
  disarm_deadline();
}

}  // namespace balrog::detail
