#include "balrog/detail/gate.hpp"

#include <mutex>

namespace balrog::detail {

bool gate::wait(deadline own, const char* what) {
  execution_context& self = current_context();
  std::unique_lock lk(lock_);
  if (open_) return true;
  waiter w(self);
  const wake_reason why = park_on(waiters_, w, lk, own, what);
  if (why == wake_reason::notified) return true;
  lk.unlock();
  throw_if_failed(why);
  return false;
}

void gate::open() noexcept {
  std::lock_guard lk(lock_);
  open_locked();
}

void gate::open_locked() noexcept {
  open_ = true;
  waiters_.wake_all();
}

void gate::close() noexcept {
  std::lock_guard lk(lock_);
  open_ = false;
}

bool gate::is_open() const noexcept {
  std::lock_guard lk(lock_);
  return open_;
}

}  // namespace balrog::detail
