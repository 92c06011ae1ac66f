#include "balrog/sync/shared_mutex.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "balrog/errors.hpp"

namespace balrog {

namespace {

[[noreturn]] void misuse(const char* what) {
  std::fprintf(stderr, "balrog::shared_mutex::%s\n", what);
  std::abort();
}

}  // namespace

std::size_t shared_mutex::admit_readers() noexcept {
  std::size_t n = 0;
  while (waiting_readers_.wake_one() != nullptr) ++n;
  readers_ += n;
  return n;
}

bool shared_mutex::admit_writer() noexcept {
  if (detail::waiter* w = waiting_writers_.wake_one()) {
    writer_ = true;
    writer_owner_ = w->ctx;
    return true;
  }
  return false;
}

bool shared_mutex::try_lock() noexcept {
  std::lock_guard lk(lock_);
  if (writer_ || readers_ > 0) return false;
  writer_ = true;
  writer_owner_ = &detail::current_context();
  return true;
}

bool shared_mutex::acquire(deadline own) {
  detail::execution_context& self = detail::current_context();
  std::unique_lock lk(lock_);
  if (!writer_ && readers_ == 0) {
    writer_ = true;
    writer_owner_ = &self;
    return true;
  }
  if (writer_ && writer_owner_ == &self) {
    throw usage_error("balrog::shared_mutex::lock: the caller already holds it exclusively");
  }
  detail::waiter w(self);
  const detail::wake_reason why = detail::park_on(waiting_writers_, w, lk, own, "shared_mutex");
  if (why == detail::wake_reason::notified) return true;
  // We gave up. Readers that queued behind us may now go in.
  if (!writer_ && waiting_writers_.empty()) admit_readers();
  lk.unlock();
  detail::throw_if_failed(why);
  return false;
}

void shared_mutex::unlock() {
  const detail::execution_context* self = &detail::current_context();
  std::lock_guard lk(lock_);
  if (!writer_ || writer_owner_ != self) misuse("unlock: the caller does not hold it exclusively");
  writer_ = false;
  writer_owner_ = nullptr;
  if (admit_readers() == 0) admit_writer();
}

bool shared_mutex::try_lock_shared() noexcept {
  std::lock_guard lk(lock_);
  if (writer_ || !waiting_writers_.empty()) return false;
  ++readers_;
  return true;
}

bool shared_mutex::acquire_shared(deadline own) {
  detail::execution_context& self = detail::current_context();
  std::unique_lock lk(lock_);
  if (!writer_ && waiting_writers_.empty()) {
    ++readers_;
    return true;
  }
  detail::waiter w(self);
  const detail::wake_reason why = detail::park_on(waiting_readers_, w, lk, own, "shared_mutex");
  if (why == detail::wake_reason::notified) return true;  // admitted: readers_ counts us
  lk.unlock();
  detail::throw_if_failed(why);
  return false;
}

void shared_mutex::unlock_shared() {
  std::lock_guard lk(lock_);
  if (readers_ == 0) misuse("unlock_shared: no reader holds it");
  if (--readers_ == 0) admit_writer();
}

}  // namespace balrog
