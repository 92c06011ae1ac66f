// balrog/detail/gate.hpp — "wait until open", the core of event and wait_group.
#pragma once

#include "balrog/deadline.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog::detail {

class gate {
 public:
  // Waits until open. True when open (at once or later); false when `own` passed first.
  // Throws cancelled, and timeout_error for an enclosing deadline_scope.
  bool wait(deadline own, const char* what);
  // Opens and wakes every waiter.
  void open() noexcept;
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept;

  // For owners that keep more state under the same lock (wait_group's counter).
  spinlock& lock() noexcept { return lock_; }
  void open_locked() noexcept;
  void close_locked() noexcept { open_ = false; }

 private:
  mutable spinlock lock_;
  bool open_ = false;
  wait_queue waiters_;
};

}  // namespace balrog::detail
