#include "balrog/sync/mutex.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "balrog/errors.hpp"

namespace balrog {

bool mutex::try_lock() noexcept {
  std::lock_guard lk(lock_);
  if (locked_) return false;
  locked_ = true;
  owner_ = &detail::current_context();
  return true;
}

bool mutex::acquire(deadline own) {
  detail::execution_context& self = detail::current_context();
  std::unique_lock lk(lock_);
  if (!locked_) {
    locked_ = true;
    owner_ = &self;
    return true;
  }
  if (owner_ == &self) {
    throw usage_error(
        "balrog::mutex::lock: the caller already holds this mutex (balrog::mutex is not "
        "recursive)");
  }
  detail::waiter w(self);
  const detail::wake_reason why = detail::park_on(waiters_, w, lk, own, "mutex");
  if (why == detail::wake_reason::notified) return true;  // unlock() handed it to us
  lk.unlock();
  detail::throw_if_failed(why);
  return false;  // our own deadline passed
}

void mutex::unlock() {
  const detail::execution_context* self = &detail::current_context();
  std::lock_guard lk(lock_);
  if (!locked_ || owner_ != self) {
    std::fputs("balrog::mutex::unlock: the caller does not hold the mutex\n", stderr);
    std::abort();
  }
  if (detail::waiter* next = waiters_.wake_one()) {
    owner_ = next->ctx;  // handed over: stays locked
    return;
  }
  locked_ = false;
  owner_ = nullptr;
}

}  // namespace balrog
