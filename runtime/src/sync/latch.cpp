#include "balrog/sync/latch.hpp"

#include "balrog/errors.hpp"

namespace balrog {

latch::latch(std::ptrdiff_t expected) : count_(expected) {
  if (expected < 0) throw usage_error("balrog::latch: the expected count is negative");
  if (expected == 0) zero_.set();
}

void latch::count_down(std::ptrdiff_t n) {
  std::ptrdiff_t left = count_.load(std::memory_order_relaxed);
  do {
    if (n < 0 || n > left) {
      throw usage_error("balrog::latch::count_down: n is negative or larger than the count");
    }
  } while (!count_.compare_exchange_weak(left, left - n, std::memory_order_acq_rel));
  if (left == n && n > 0) zero_.set();
}

void latch::wait() const {
  if (try_wait()) return;
  zero_.wait();
}

}  // namespace balrog
