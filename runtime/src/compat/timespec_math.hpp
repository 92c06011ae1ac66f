// Conversions between the C time structures the compat API receives and balrog's deadlines.
#pragma once

#include <time.h>

#include <chrono>

#include "balrog/deadline.hpp"

namespace balrog::compat::detail {

// now + (seconds, nanoseconds); lengths beyond a century count as never (no overflow).
inline deadline deadline_after(time_t seconds, long nanoseconds) noexcept {
  constexpr time_t century = time_t{100} * 365 * 24 * 3600;
  if (seconds > century) return deadline::never();
  return deadline(std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanoseconds));
}

// What is left of `total` after `elapsed`, never negative (nanosleep's *rem, select's
// write-back).
inline timespec time_left(const timespec& total, clock::duration elapsed) noexcept {
  constexpr long giga = 1'000'000'000;
  const auto e = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  timespec left{total.tv_sec - static_cast<time_t>(e / giga), total.tv_nsec - e % giga};
  if (left.tv_nsec < 0) {
    left.tv_nsec += giga;
    --left.tv_sec;
  }
  if (left.tv_sec < 0) return timespec{0, 0};
  return left;
}

}  // namespace balrog::compat::detail
