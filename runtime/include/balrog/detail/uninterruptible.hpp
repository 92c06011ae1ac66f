// balrog/detail/uninterruptible.hpp — a stretch of code whose waits ignore cancellation and
// deadlines. Used where the standard demands completion: condition_variable::wait must
// re-acquire the mutex before it returns, however it returns.
#pragma once

#include "balrog/detail/execution_context.hpp"

namespace balrog::detail {

class uninterruptible {
 public:
  explicit uninterruptible(execution_context& ctx) noexcept
      : ctx_(ctx), saved_(ctx.scope_deadline) {
    ctx_.enter_shield();
    ctx_.scope_deadline = deadline::never();
  }
  ~uninterruptible() {
    ctx_.scope_deadline = saved_;
    ctx_.leave_shield();
  }
  uninterruptible(const uninterruptible&) = delete;
  uninterruptible& operator=(const uninterruptible&) = delete;

 private:
  execution_context& ctx_;
  deadline saved_;
};

}  // namespace balrog::detail
