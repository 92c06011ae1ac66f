// White-box: the timeouts handed to poll(2) and epoll_wait(2) (runtime/src/reactor).
#include <gtest/gtest.h>

#include <chrono>
#include <climits>

#include "reactor/timeouts.hpp"

using namespace std::chrono_literals;
using balrog::deadline;
using balrog::detail::poll_timeout_ms;

TEST(Timeouts, PollTimeoutsRoundUpAndMeanWhatPollMeans) {
  EXPECT_EQ(poll_timeout_ms(deadline::never()), -1);
  EXPECT_EQ(poll_timeout_ms(deadline(-5s)), 0);
  EXPECT_EQ(poll_timeout_ms(deadline(0ms)), 0);
  const int ms = poll_timeout_ms(deadline(1500us));
  EXPECT_GE(ms, 1);  // rounded up, never 0 for a deadline still ahead
  EXPECT_LE(ms, 2);
}

// A deadline past ~24.8 days does not fit poll's int milliseconds: it must not overflow into a
// negative timeout, which poll(2) takes as "forever".
TEST(Timeouts, FarDeadlinesAreClampedNotWrapped) {
  for (const auto far : {std::chrono::hours(24 * 30), std::chrono::hours(24 * 365 * 100)}) {
    const int ms = poll_timeout_ms(deadline(far));
    EXPECT_EQ(ms, INT_MAX) << "for a deadline " << far.count() << " hours away";
  }
  // 2^32 + 5 ms: wrapping would give a tiny positive timeout.
  EXPECT_EQ(poll_timeout_ms(deadline(std::chrono::milliseconds((1LL << 32) + 5))), INT_MAX);
}
