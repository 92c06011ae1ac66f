// Cancellation: at every kind of suspension point, stickiness, shields, foreign threads.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "balrog/errors.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

TEST(Cancel, InterruptsASleep) {
  balrog::run([] {
    auto f = balrog::spawn([] { balrog::this_fiber::sleep_for(1h); });
    balrog::this_fiber::yield();
    const auto start = balrog::clock::now();
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
    EXPECT_LT(balrog::clock::now() - start, 1s);
  });
}

TEST(Cancel, BeforeTheFiberStartsThrowsAtItsFirstSuspension) {
  balrog::run([] {
    bool before = false;
    bool after = false;
    auto f = balrog::spawn([&] {
      before = true;                // running code is never interrupted...
      balrog::this_fiber::yield();  // ...the first suspension point throws
      after = true;
    });
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
    EXPECT_TRUE(before);
    EXPECT_FALSE(after);
  });
}

TEST(Cancel, IsStickyAcrossSuspensionPoints) {
  balrog::run([] {
    int thrown = 0;
    auto f = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        try {
          balrog::this_fiber::sleep_for(1h);
        } catch (const balrog::cancelled&) {
          ++thrown;
        }
      }
      EXPECT_TRUE(balrog::this_fiber::cancellation_requested());
    });
    balrog::this_fiber::yield();
    f.cancel();
    f.join();
    EXPECT_EQ(thrown, 3);
  });
}

TEST(Cancel, ShieldLetsCleanupWaitThenTheNextSuspensionThrows) {
  balrog::run([] {
    bool cleanup_slept = false;
    auto f = balrog::spawn([&] {
      try {
        balrog::this_fiber::sleep_for(1h);
      } catch (const balrog::cancelled&) {
        {
          balrog::this_fiber::cancellation_shield shield;
          balrog::this_fiber::sleep_for(5ms);
          cleanup_slept = true;
        }
        balrog::this_fiber::yield();  // unshielded again: throws
      }
    });
    balrog::this_fiber::yield();
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
    EXPECT_TRUE(cleanup_slept);
  });
}

TEST(Cancel, ShieldedSleepIsNotWokenByCancel) {
  balrog::run([] {
    auto f = balrog::spawn([] {
      balrog::this_fiber::cancellation_shield shield;
      balrog::this_fiber::sleep_for(30ms);
      return 1;
    });
    balrog::this_fiber::yield();
    const auto start = balrog::clock::now();
    f.cancel();
    EXPECT_EQ(f.join(), 1);
    EXPECT_GE(balrog::clock::now() - start, 25ms);
  });
}

TEST(Cancel, InterruptsAJoin) {
  balrog::run([] {
    auto inner = balrog::spawn([] { balrog::this_fiber::sleep_for(1h); });
    auto outer = balrog::spawn([&] { inner.join(); });
    balrog::this_fiber::yield();
    outer.cancel();
    EXPECT_THROW(outer.join(), balrog::cancelled);
    EXPECT_TRUE(inner.joinable());  // a cancelled join leaves the handle joinable
    inner.cancel();
    EXPECT_THROW(inner.join(), balrog::cancelled);
  });
}

TEST(Cancel, FromAnotherThread) {
  balrog::fiber<void> target;
  balrog::event started;
  std::thread canceller([&] {
    started.wait();
    target.cancel();
  });
  balrog::run([&] {
    target = balrog::spawn([&] {
      started.set();
      balrog::this_fiber::sleep_for(1h);
    });
    balrog::this_fiber::sleep_for(1ms);
    canceller.join();
    EXPECT_THROW(target.join(), balrog::cancelled);
  });
}

TEST(Cancel, OfAFinishedFiberIsHarmless) {
  balrog::run([] {
    auto f = balrog::spawn([] { return 2; });
    balrog::this_fiber::yield();
    f.cancel();
    EXPECT_EQ(f.join(), 2);
  });
}
