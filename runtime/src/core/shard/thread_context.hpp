// The execution context of a plain thread (sync mode): waits park the thread on a futex.
#pragma once

#include "balrog/detail/execution_context.hpp"

namespace balrog::detail {

class thread_context final : public execution_context {
 public:
  thread_context() noexcept { is_thread_ = true; }
  [[nodiscard]] bool is_fiber() const noexcept override { return false; }

  // This thread's context (created on first use).
  static thread_context& current() noexcept;
  // Wakes the thread parked on `word` (its state_): by address only, so it is harmless when
  // the thread already returned (a spurious wake of whatever lives there is allowed).
  static void wake(std::atomic<std::uint32_t>* word) noexcept;

 protected:
  void park(deadline until, wake_reason timeout_reason) override;
  void unpark() noexcept override;

 private:
  // Before the futex wait: watches state_ for a bounded while. True if claimed meanwhile.
  bool spin_on_state() noexcept;
};

}  // namespace balrog::detail
