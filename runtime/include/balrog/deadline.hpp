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
  constexpr deadline(clock::time_point when) noexcept : when_(when) {}  // NOLINT: implicit on purpose

  // Absolute, on another clock (system_clock...): converted through the distance from now.
  template <class Clock, class Duration>
    requires(!std::is_same_v<Clock, clock>)
  deadline(std::chrono::time_point<Clock, Duration> when)  // NOLINT: implicit on purpose
      : deadline(when - Clock::now()) {}

  // Relative to now; saturates at never(); negative means already expired.
  template <class Rep, class Period>
  deadline(std::chrono::duration<Rep, Period> after) : when_(saturating_after(after)) {}  // NOLINT

  [[nodiscard]] constexpr bool is_never() const noexcept { return when_ == clock::time_point::max(); }
  [[nodiscard]] constexpr clock::time_point when() const noexcept { return when_; }
  [[nodiscard]] bool expired() const noexcept { return !is_never() && clock::now() >= when_; }

  friend constexpr bool operator==(deadline a, deadline b) noexcept { return a.when_ == b.when_; }
  friend constexpr deadline earliest(deadline a, deadline b) noexcept {
    return a.when_ < b.when_ ? a : b;
  }

 private:
  template <class Rep, class Period>
  static clock::time_point saturating_after(std::chrono::duration<Rep, Period> after) {
    using namespace std::chrono;
    const auto now = clock::now();
    if (after <= duration<Rep, Period>::zero()) {
      return now + duration_cast<clock::duration>(after);
    }
    const auto room = clock::time_point::max() - now;
    if (duration<double, std::nano>(after) >= duration<double, std::nano>(room)) {
      return clock::time_point::max();
    }
    return now + ceil<clock::duration>(after);
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
