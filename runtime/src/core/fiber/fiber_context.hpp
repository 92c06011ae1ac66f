// One fiber: a joinable with a stack and a saved switch frame.
//
// Allocated in one block together with its task (the user's function and outcome), so a spawn
// costs one allocation; see scheduler::create_fiber.
#pragma once

#include <cstddef>
#include <new>

#include "context/switch_frame.hpp"
#include "core/fiber/joinable.hpp"
#include "stack/overflow_guard.hpp"
#include "stack/stack_source.hpp"

namespace balrog::detail {

class fiber_context final : public joinable_context {
 public:
  // `block_bytes`/`block_align`: the block it lives in (scheduler::allocate_context_block).
  fiber_context(scheduler& s, std::string&& name, std::uint64_t id_, std::size_t block_bytes,
                std::size_t block_align, stack_kind stack_kind_, std::size_t stack_size) noexcept;
  ~fiber_context() override;

  // Where a task of `task_size` bytes goes in this context's block.
  static std::size_t task_offset(std::size_t task_align) noexcept {
    return (sizeof(fiber_context) + task_align - 1) & ~(task_align - 1);  // a power of two
  }

  // What every switch away and back reads or writes (the canary check, the saved context,
  // the exception state): 64 bytes together, `stack` first (switch_frame's sanitizer fields
  // are last).
  stack_facts stack;
  switch_frame frame;
  // The stack itself and the pool it goes back to (null: none attached, or already given back).
  boost::context::stack_context stack_memory;
  stack_source* stack_owner = nullptr;
  overflow_facts overflow;  // what the SIGSEGV handler may read while this fiber runs
  bool owns_task = false;   // false for run()'s main fiber, whose task run() owns
  const stack_kind stack_kind_requested;
  const std::size_t stack_size_requested;

 protected:
  // noexcept: running out of memory while arming a timer leaves no sane way to continue.
  void park(deadline until, wake_reason timeout_reason) noexcept override;

 public:
  void destroy() noexcept override;

 private:
  const std::size_t block_bytes_;
  const std::size_t block_align_;
};

}  // namespace balrog::detail
