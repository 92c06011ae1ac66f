// One fiber: its saved switch frame, stack facts, identity, lifecycle flags and joiners.
//
// Owned by reference count: one reference for the scheduler while the fiber runs, one for
// the fiber<T> handle until it joins or detaches. The stack is separate and returns to its
// pool the moment the fiber ends; the context (and the task's outcome) lives on until the
// handle lets go.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "balrog/fiber.hpp"
#include "core/switch_frame.hpp"
#include "reactor/timer_heap.hpp"
#include "stack/overflow_guard.hpp"
#include "stack/stack_source.hpp"

namespace balrog::detail {

class scheduler;

class fiber_context final : public execution_context {
 public:
  static constexpr std::uint32_t flag_finished = 1;
  static constexpr std::uint32_t flag_detached = 2;

  fiber_context(scheduler& s, std::unique_ptr<fiber_task> owned, fiber_task& task,
                fiber_options options, std::uint64_t id);
  ~fiber_context();

  [[nodiscard]] bool is_fiber() const noexcept override { return true; }

  scheduler& sched;
  fiber_task& task;
  const std::uint64_t id;
  const std::string name;

  switch_frame frame;
  stack_facts stack;
  overflow_facts overflow;  // what the SIGSEGV handler may read while this fiber runs

  fiber_context* ready_next = nullptr;  // ready queue or remote queue (never both)
  fiber_context* all_prev = nullptr;    // the scheduler's registry of live fibers
  fiber_context* all_next = nullptr;

  std::atomic<std::uint32_t> flags{0};
  std::atomic<int> refs{1};

  spinlock join_lock;  // guards joiners and the finished flag's transition
  wait_queue joiners;

 protected:
  // noexcept: running out of memory while arming a timer leaves no sane way to continue.
  void park(deadline until, wake_reason timeout_reason) noexcept override;
  void unpark() noexcept override;

 private:
  static void on_deadline(timer_node& node) noexcept;

  std::unique_ptr<fiber_task> owned_task_;  // null for run()'s main fiber: the caller owns it
  timer_node deadline_timer_;
  wake_reason timeout_reason_ = wake_reason::timeout;
};

}  // namespace balrog::detail
