// balrog/sync/counting_semaphore.hpp — std::counting_semaphore and std::binary_semaphore twins.
//
// The std API over balrog::semaphore (balrog/sync/semaphore.hpp): acquire() suspends the
// fiber (a suspension point: balrog::cancelled, balrog::timeout_error from an enclosing
// deadline_scope), release(n) hands permits to waiters in FIFO order. Works on fibers, plain
// threads and across shards. balrog-gen's sync-types pass rewrites std::counting_semaphore<N>
// and std::binary_semaphore to them.
//
// Differences from std: the constructor is not constexpr; a negative or too large count, and
// a release() past max(), throw balrog::usage_error (the standard calls them undefined).
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>

#include "balrog/errors.hpp"
#include "balrog/sync/semaphore.hpp"

namespace balrog {

template <std::ptrdiff_t LeastMaxValue = std::numeric_limits<std::ptrdiff_t>::max()>
class counting_semaphore {
  static_assert(LeastMaxValue >= 0);

 public:
  [[nodiscard]] static constexpr std::ptrdiff_t max() noexcept { return LeastMaxValue; }

  explicit counting_semaphore(std::ptrdiff_t desired) : permits_(checked(desired)) {}
  counting_semaphore(const counting_semaphore&) = delete;
  counting_semaphore& operator=(const counting_semaphore&) = delete;

  void release(std::ptrdiff_t update = 1) {
    if (update < 0 || update > max() - permits_.available()) {
      throw usage_error("balrog::counting_semaphore::release: the count would pass max()");
    }
    permits_.release(update);
  }
  void acquire() { permits_.acquire(); }
  [[nodiscard]] bool try_acquire() noexcept { return permits_.try_acquire(); }
  template <class Rep, class Period>
  [[nodiscard]] bool try_acquire_for(std::chrono::duration<Rep, Period> d) {
    return permits_.try_acquire_for(d);
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool try_acquire_until(std::chrono::time_point<Clock, Duration> t) {
    return permits_.try_acquire_until(t);
  }

 private:
  static std::ptrdiff_t checked(std::ptrdiff_t desired) {
    if (desired < 0 || desired > max()) {
      throw usage_error("balrog::counting_semaphore: the initial count is outside [0, max()]");
    }
    return desired;
  }

  semaphore permits_;
};

using binary_semaphore = counting_semaphore<1>;

}  // namespace balrog
