// A coroutine task started with spawn_task: a joinable whose code the scheduler's loop runs,
// on the loop's own stack, each time the task is claimed.
//
// The task owns its driver coroutine (balrog/detail/coroutine.hpp), which awaits the user's
// task<T> and keeps the outcome; the frame lives until the last handle lets go.
#pragma once

#include <coroutine>

#include "balrog/detail/coroutine.hpp"
#include "core/fiber/joinable.hpp"

namespace balrog::detail {

class task_context final : public joinable_context {
 public:
  task_context(scheduler& s, std::string&& name, std::uint64_t id, std::coroutine_handle<> driver,
               fiber_task* outcome, driver_state& state) noexcept;
  ~task_context() override;

  // Awaitables' step 3: remembers `h`, then arms the deadline timer (or, if cancellation is
  // pending or the deadline passed, claims itself and queues at once).
  void suspend_coroutine(std::coroutine_handle<> h, deadline own) noexcept override;

  // The loop's part: consume the wake-up and resume the coroutine where it stopped. True when
  // the driver completed.
  bool step();
  // A chain that came home after a foreign awaitable (scheduler::resume_home): step() next
  // resumes `h`.
  void resume_at(std::coroutine_handle<> h) noexcept { next_ = h; }

  void destroy() noexcept override { delete this; }

  // Where the coroutine chain is suspended (null while it runs or before it started).
  [[nodiscard]] std::coroutine_handle<> suspended_at() const noexcept { return next_; }

  driver_state& state;
  // Sent to the loop when the driver completed elsewhere (coroutine_bridge.cpp's task_done).
  context_node done_node;

 protected:
  // Waits inside coroutine code are refused before parking (misuse); see the .cpp.
  void park(deadline until, wake_reason timeout_reason) noexcept override;

 private:
  std::coroutine_handle<> driver_;
  std::coroutine_handle<> next_;  // where to resume; the driver itself before the first step
  bool waiting_ = false;          // suspended through suspend_coroutine (vs. not started)
};

}  // namespace balrog::detail
