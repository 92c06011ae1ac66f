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
  // Someone took join_lock to wait for the finish or to look at it: a join from another
  // thread, from the loop or a coroutine, or a cancel from another thread (enter_locked).
  // Only then does finish() take the lock; without it the joiners (if any) are a fiber of this
  // shard that joined without the lock (join's owner-thread path), and finish() wakes it
  // without a lock or a read-modify-write.
  static constexpr std::uint32_t flag_locked = 8;

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
  // When the current wait began (the loop's clock of that turn), for dump_fibers. Written by
  // every park: next to `sched` and the runnable node, which a wait touches too (issue 10,
  // "Cache footprint of a wait" in docs/architecture.md).
  clock::time_point waiting_since{};
  fiber_task* task;  // the function and its outcome (for run()'s main fiber: owned by run())
  const std::uint64_t id;

  joinable_context* all_prev = nullptr;  // the scheduler's registry of live fibers and tasks
  joinable_context* all_next = nullptr;

  std::atomic<std::uint32_t> flags{0};
  std::atomic<int> refs{1};
  // The fiber's balrog::fiber_local values (runtime/src/core/fiber/fiber_local.cpp); null until the
  // first one is made. Touched only by the fiber itself.
  fiber_local_table* locals = nullptr;
  spinlock join_lock;  // guards joiners and the finished flag's transition (see flag_locked)
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

  [[nodiscard]] bool is_waiting() const noexcept {
    return state_.load(std::memory_order_acquire) == waiting;
  }

  // With join_lock held, by whoever waits for the finish (or looks at it) under the lock:
  // sets flag_locked, so finish() takes the lock too. True if it already finished. The flag
  // and the finish are read-modify-writes of one word: either finish() sees the flag (and
  // then waits for the lock), or the locker sees the finish.
  bool enter_locked() noexcept {
    return (flags.fetch_or(flag_locked, std::memory_order_acq_rel) & flag_finished) != 0;
  }

  // Lifecycle (runtime/src/core/fiber/joinable.cpp).
  // The function returned or threw: mark finished, wake joiners, release the attachment (or,
  // if detached, end the process on an unobserved exception). Owner's thread only. True when
  // the handle's holder is a fiber of this shard that was waiting in join and is woken now:
  // then no other thread can touch the reference count until it runs (fiber_exit).
  bool finish() noexcept;

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
