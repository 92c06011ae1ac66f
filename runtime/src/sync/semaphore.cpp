#include "balrog/sync/semaphore.hpp"

#include <mutex>
#include <string>

#include "balrog/errors.hpp"

namespace balrog {

semaphore::semaphore(std::ptrdiff_t initial) : count_(initial) {
  if (initial < 0) {
    throw usage_error("balrog::semaphore: initial count must not be negative (got " +
                      std::to_string(initial) + ")");
  }
}

bool semaphore::try_acquire() noexcept {
  std::lock_guard lk(lock_);
  if (count_ == 0) return false;
  --count_;
  return true;
}

bool semaphore::take(deadline own) {
  detail::execution_context& self = detail::current_context();
  std::unique_lock lk(lock_);
  if (count_ > 0) {
    --count_;
    return true;
  }
  detail::waiter w(self);
  const detail::wake_reason why = detail::park_on(waiters_, w, lk, own, "semaphore");
  if (why == detail::wake_reason::notified) return true;  // release() handed us a permit
  lk.unlock();
  detail::throw_if_failed(why);
  return false;
}

void semaphore::release(std::ptrdiff_t n) {
  if (n < 0) {
    throw usage_error("balrog::semaphore::release: count must not be negative (got " +
                      std::to_string(n) + ")");
  }
  std::lock_guard lk(lock_);
  while (n > 0 && waiters_.wake_one() != nullptr) --n;
  count_ += n;
}

std::ptrdiff_t semaphore::available() const noexcept {
  std::lock_guard lk(lock_);
  return count_;
}

}  // namespace balrog
