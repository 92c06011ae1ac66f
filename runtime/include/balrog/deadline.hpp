// balrog/deadline.hpp — points in time that bound waiting, and deadline_scope.
//
// A `deadline` is a point on std::chrono::steady_clock, or "never". It converts implicitly
// from a time_point (absolute) and from a duration (relative to now), so every call that takes
// one reads naturally:
//
//   balrog::wait_readable(fd, 250ms);
//   balrog::wait_readable(fd, std::chrono::steady_clock::now() + 1s);
//
// A negative duration means a deadline already in the past. Adding a huge duration saturates
// at "never" instead of overflowing.
//
// `deadline_scope` bounds every suspension inside it, on the fiber (or plain thread) that
// created it: sleeps, lock waits, channel operations, joins, fd waits, offload. When the
// deadline passes, the suspended call throws balrog::timeout_error. Scopes nest; the earliest
// deadline wins. A call's own deadline argument combines with the scope's: the earlier one
// applies. A past deadline fails at the first suspension, but calls that need not suspend
// (an uncontended lock, a ready channel) still succeed.
#pragma once

#include <chrono>
#include <type_traits>

namespace balrog {

using clock = std::chrono::steady_clock;

class deadline {
 public:
  // Never expires.
  constexpr deadline() noexcept = default;
  static constexpr deadline never() noexcept { return {}; }

  // Absolute.
  constexpr deadline(clock::time_point when) noexcept
      : when_(when) {}  // NOLINT: implicit on purpose

  // Absolute, on another clock (system_clock...): converted through the distance from now.
  // That clock's time_point::max() means never, as it does on steady_clock.
  template <class Clock, class Duration>
    requires(!std::is_same_v<Clock, clock>)
  deadline(std::chrono::time_point<Clock, Duration> when)  // NOLINT: implicit on purpose
      : when_(when == std::chrono::time_point<Clock, Duration>::max()
                  ? clock::time_point::max()
                  : saturating_after(to_double_ns(when.time_since_epoch()) -
                                     to_double_ns(Clock::now().time_since_epoch()))) {}

  // Relative to now; saturates at never() (and at the clock's minimum for huge negative
  // durations); negative means already expired.
  template <class Rep, class Period>
  deadline(std::chrono::duration<Rep, Period> after)  // NOLINT: implicit on purpose
      : when_(saturating_after(after)) {}

  [[nodiscard]] constexpr bool is_never() const noexcept {
    return when_ == clock::time_point::max();
  }
  [[nodiscard]] constexpr clock::time_point when() const noexcept { return when_; }
  [[nodiscard]] bool expired() const noexcept { return !is_never() && clock::now() >= when_; }

  friend constexpr bool operator==(deadline a, deadline b) noexcept { return a.when_ == b.when_; }
  friend constexpr deadline earliest(deadline a, deadline b) noexcept {
    return a.when_ < b.when_ ? a : b;
  }

 private:
  using double_ns = std::chrono::duration<double, std::nano>;

  template <class Rep, class Period>
  static constexpr double_ns to_double_ns(std::chrono::duration<Rep, Period> d) noexcept {
    return std::chrono::duration_cast<double_ns>(d);
  }

  // now + after, computed so that no value of `after` overflows: the distance is first
  // compared (in floating point) with the room left on the clock in that direction.
  template <class Rep, class Period>
  static clock::time_point saturating_after(std::chrono::duration<Rep, Period> after) {
    using namespace std::chrono;
    const auto now = clock::now();
    const double_ns wanted = to_double_ns(after);
    const double_ns since_epoch = to_double_ns(now.time_since_epoch());
    if (wanted >= to_double_ns(clock::time_point::max().time_since_epoch()) - since_epoch) {
      return clock::time_point::max();
    }
    if (wanted <= to_double_ns(clock::time_point::min().time_since_epoch()) - since_epoch) {
      return clock::time_point::min();
    }
    if constexpr (std::is_floating_point_v<Rep>) {
      return now + ceil<clock::duration>(wanted);
    } else {
      // Exact integer arithmetic; rounding up never wakes a waiter early.
      return now + ceil<clock::duration>(after);
    }
  }

  clock::time_point when_ = clock::time_point::max();
};

// RAII: bounds every suspension of the current fiber (or thread) until it is destroyed.
// Not movable: it belongs to the stack frame that opened it. Destroy scopes in reverse order of
// construction (the natural order for stack objects).
class deadline_scope {
 public:
  explicit deadline_scope(deadline d);
  ~deadline_scope();
  deadline_scope(const deadline_scope&) = delete;
  deadline_scope& operator=(const deadline_scope&) = delete;

  // The deadline this scope imposes (its own, not the effective one).
  [[nodiscard]] deadline get() const noexcept { return mine_; }

 private:
  deadline mine_;
  deadline previous_;
};

// The deadline currently in force on this fiber or thread (never() outside any scope).
[[nodiscard]] deadline current_deadline() noexcept;

}  // namespace balrog
