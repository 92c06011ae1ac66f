// balrog/detail/cv_wait.hpp — the one wait of balrog's condition variables.
#pragma once

#include <mutex>

#include "balrog/detail/uninterruptible.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog::detail {

// Atomically releases `user_lock` and waits on `q`; re-acquires `user_lock` before returning,
// however the wait ended (the standard requires it, even when the wait throws), then returns
// why it woke. Enqueuing before the release is what makes the release-and-wait atomic: a
// notify that follows the release always finds us.
template <class UserLock>
wake_reason cv_wait(spinlock& lock, wait_queue& q, UserLock& user_lock, deadline own) {
  execution_context& self = current_context();
  waiter w(self);
  {
    std::lock_guard lk(lock);
    self.prepare_wait();
    q.push_back(w);
  }
  self.waiting_on = "condition_variable";
  user_lock.unlock();
  const wake_reason why = self.wait(own);
  self.waiting_on = nullptr;
  {
    std::lock_guard lk(lock);
    if (w.linked) q.erase(w);
  }
  uninterruptible guard(self);
  user_lock.lock();
  return why;
}

}  // namespace balrog::detail
