#include "balrog/sync/wait_group.hpp"

#include <mutex>
#include <string>

#include "balrog/errors.hpp"

namespace balrog {

wait_group::wait_group() { gate_.open(); }

void wait_group::add(std::ptrdiff_t n) {
  std::lock_guard lk(gate_.lock());
  if (count_ + n < 0) {
    throw usage_error("balrog::wait_group: counter would become negative (" +
                      std::to_string(count_) + " + " + std::to_string(n) +
                      "): more done() than add()");
  }
  count_ += n;
  if (count_ == 0) {
    gate_.open_locked();
  } else {
    gate_.close_locked();
  }
}

std::ptrdiff_t wait_group::count() const noexcept {
  std::lock_guard lk(gate_.lock());
  return count_;
}

}  // namespace balrog
