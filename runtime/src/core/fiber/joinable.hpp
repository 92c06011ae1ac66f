// What fibers and coroutine tasks have in common: identity, a scheduler, a function whose
// outcome someone may join, a reference count, and deadline timers for their waits.
//
// Owned by reference count: one reference for the scheduler while it runs, one for the
// handle (fiber<T>, task_handle<T>) until it joins or detaches. The outcome lives in `task`
// and stays readable until the last reference goes.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "balrog/fiber.hpp"
#include "core/fiber/runnable.hpp"
#include "reactor/timer_wheel.hpp"

namespace balrog::detail {

class scheduler;
struct fiber_local_table;

class joinable_context : public execution_context, public runnable {
 public:
  static constexpr std::uint32_t flag_finished = 1;
  static constexpr std::uint32_t flag_detached = 2;
  // With flag_detached: its handle was dropped where it could not join (coroutine code, the
  // loop), so an exception it ends with is reported, not fatal.
  static constexpr std::uint32_t flag_dropped = 4;

  joinable_context(kind k, scheduler& s, fiber_task* task, std::string&& name,
                   std::uint64_t id) noexcept;
  virtual ~joinable_context();
  joinable_context(const joinable_context&) = delete;
  joinable_context& operator=(const joinable_context&) = delete;

  [[nodiscard]] bool is_fiber() const noexcept final { return what == kind::fiber; }

  // "fiber-<id>" / "task-<id>" unless named. The default is formatted on first use: spawn is
  // hot and most names are never read.
  [[nodiscard]] std::string_view name() const noexcept;
  [[nodiscard]] const char* name_c_str() const noexcept;
  // The name if one was given, else null (async-signal-safe).
  [[nodiscard]] const char* given_name() const noexcept {
    return name_.empty() ? nullptr : name_.c_str();
  }

  scheduler& sched;
  fiber_task* task;  // the function and its outcome (for run()'s main fiber: owned by run())
  const std::uint64_t id;

  joinable_context* all_prev = nullptr;  // the scheduler's registry of live fibers and tasks
  joinable_context* all_next = nullptr;

  std::atomic<std::uint32_t> flags{0};
  std::atomic<int> refs{1};
  // The fiber's balrog::fiber_local values (runtime/src/core/fiber/fiber_local.cpp); null until the
  // first one is made. Touched only by the fiber itself.
  fiber_local_table* locals = nullptr;
  spinlock join_lock;  // guards joiners and the finished flag's transition
  wait_queue joiners;

  // What other threads send the owner's loop through its remote queue, besides the wake-up
  // (the runnable itself): a cross-thread cancel (sent once: cancellation is sticky), a chain
  // coming home after a foreign awaitable (one at a time: its runner waits for it).
  struct context_node : remote_node {
    joinable_context* owner = nullptr;
  };
  context_node cancel_node;
  std::atomic<bool> cancel_sent{false};
  context_node home_node;
  std::coroutine_handle<> home_resume;

  // When the current wait began (the loop's clock of that turn), for dump_fibers.
  clock::time_point waiting_since{};
  [[nodiscard]] bool is_waiting() const noexcept {
    return state_.load(std::memory_order_acquire) == waiting;
  }

  // Lifecycle (runtime/src/core/fiber/joinable.cpp).
  // The function returned or threw: mark finished, wake joiners, release the attachment (or,
  // if detached, end the process on an unobserved exception). Owner's thread only.
  void finish() noexcept;

 protected:
  // Arms this context's deadline timer for a wait (no-op for never()).
  void arm_deadline(deadline until, wake_reason timeout_reason) noexcept;
  void disarm_deadline() noexcept;
  void unpark() noexcept override;

 public:
  // Frees the context (the last reference went). Fibers live in one block with their task.
  virtual void destroy() noexcept = 0;

 private:
  static void on_deadline(timer_node& node) noexcept;

  std::string name_;  // empty: the default name, formatted on first use into default_name_
  mutable std::atomic<int> default_name_state_{0};  // 0 none, 1 being formatted, 2 ready
  mutable char default_name_[24];
  timer_node deadline_timer_;
  wake_reason timeout_reason_ = wake_reason::timeout;
};

// Destroys the fiber's fiber_local values (on the fiber, after its function returned).
void destroy_fiber_locals(joinable_context& fiber) noexcept;

// Reference counting; the last release destroys the context (and its owned task).
void retain(joinable_context* j) noexcept;
void release(joinable_context* j) noexcept;

// An exception's what(), or "" for balrog::cancelled (how cancelled work is expected to end).
std::string describe_failure(const std::exception_ptr& e);
void report_failure(const joinable_context& j, const char* how, const std::string& what);
// Reports (to stderr) an exception other than cancelled that `j` ended with.
void report_if_unobserved(const joinable_context& j);
// Reports and std::terminate()s if `j` ended with an exception other than cancelled.
void terminate_if_unobserved(const joinable_context& j) noexcept;

}  // namespace balrog::detail
