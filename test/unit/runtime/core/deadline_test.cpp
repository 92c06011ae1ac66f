// deadline and deadline_scope.
#include <gtest/gtest.h>

#include <thread>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

TEST(Deadline, DefaultIsNever) {
  EXPECT_TRUE(balrog::deadline().is_never());
  EXPECT_FALSE(balrog::deadline().expired());
}

TEST(Deadline, HugeDurationsSaturateInsteadOfOverflowing) {
  EXPECT_TRUE(balrog::deadline(std::chrono::hours::max()).is_never());
  EXPECT_TRUE(balrog::deadline(std::chrono::nanoseconds::max()).is_never());
}

TEST(Deadline, NegativeDurationsAreAlreadyExpired) {
  EXPECT_TRUE(balrog::deadline(-5s).expired());
  EXPECT_TRUE(balrog::deadline(std::chrono::nanoseconds::min() / 2).expired());
}

TEST(Deadline, ExtremeValuesSaturateBothWays) {
  EXPECT_TRUE(balrog::deadline(std::chrono::seconds::min()).expired());
  EXPECT_TRUE(balrog::deadline(std::chrono::hours::min()).expired());
  EXPECT_TRUE(balrog::deadline(std::chrono::system_clock::time_point::min()).expired());
  EXPECT_TRUE(balrog::deadline(std::chrono::system_clock::time_point::max()).is_never());
  EXPECT_TRUE(balrog::deadline(std::chrono::duration<double>(1e300)).is_never());
  EXPECT_TRUE(balrog::deadline(std::chrono::duration<double>(-1e300)).expired());
}

TEST(Deadline, ConvertsFromOtherClocks) {
  const balrog::deadline d(std::chrono::system_clock::now() + 1h);
  EXPECT_FALSE(d.expired());
  EXPECT_GT(d.when(), balrog::clock::now() + 59min);
}

TEST(DeadlineScope, BoundsASleepOnAFiber) {
  balrog::run([] {
    const auto start = balrog::clock::now();
    balrog::deadline_scope scope(20ms);
    EXPECT_THROW(balrog::this_fiber::sleep_for(1h), balrog::timeout_error);
    EXPECT_GE(balrog::clock::now() - start, 19ms);
    EXPECT_LT(balrog::clock::now() - start, 1s);
  });
}

TEST(DeadlineScope, BoundsASleepOnAPlainThread) {
  const auto start = balrog::clock::now();
  balrog::deadline_scope scope(20ms);
  EXPECT_THROW(balrog::this_fiber::sleep_for(1h), balrog::timeout_error);
  EXPECT_GE(balrog::clock::now() - start, 19ms);
}

TEST(DeadlineScope, ASleepShorterThanTheScopeReturnsNormally) {
  balrog::run([] {
    balrog::deadline_scope scope(1s);
    balrog::this_fiber::sleep_for(5ms);
  });
}

TEST(DeadlineScope, NestedScopesTakeTheEarliestAndRestoreOnExit) {
  balrog::run([] {
    balrog::deadline_scope outer(30ms);
    {
      balrog::deadline_scope inner(1h);  // later than outer: outer still applies
      EXPECT_EQ(balrog::current_deadline(), outer.get());
    }
    {
      balrog::deadline_scope inner(5ms);
      EXPECT_EQ(balrog::current_deadline(), inner.get());
      EXPECT_THROW(balrog::this_fiber::sleep_for(1h), balrog::timeout_error);
    }
    EXPECT_EQ(balrog::current_deadline(), outer.get());
  });
  EXPECT_TRUE(balrog::current_deadline().is_never());
}

TEST(DeadlineScope, IsPerFiber) {
  balrog::run([] {
    auto other = balrog::spawn([] {
      balrog::this_fiber::sleep_for(30ms);  // not bounded by main's scope
      return true;
    });
    {
      balrog::deadline_scope scope(5ms);
      EXPECT_THROW(balrog::this_fiber::sleep_for(1h), balrog::timeout_error);
    }
    EXPECT_TRUE(other.join());
  });
}

TEST(DeadlineScope, APastDeadlineMakesYieldThrow) {
  balrog::run([] {
    balrog::deadline_scope scope(-1ms);
    EXPECT_THROW(balrog::this_fiber::yield(), balrog::timeout_error);
  });
}

TEST(DeadlineScope, BoundsAJoin) {
  balrog::run([] {
    auto f = balrog::spawn([] { balrog::this_fiber::sleep_for(1h); });
    {
      balrog::deadline_scope scope(10ms);
      EXPECT_THROW(f.join(), balrog::timeout_error);
    }
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
  });
}
