// The std twins of balrog/sync: recursive_mutex, counting_semaphore, latch, barrier.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/barrier.hpp"
#include "balrog/sync/counting_semaphore.hpp"
#include "balrog/sync/latch.hpp"
#include "balrog/sync/recursive_mutex.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using balrog_test::let_fibers_run;

// ---- recursive_mutex ----------------------------------------------------------------------

TEST(RecursiveMutex, OwnerLocksAgainOthersWait) {
  balrog::run([] {
    balrog::recursive_mutex m;
    m.lock();
    m.lock();
    EXPECT_TRUE(m.try_lock());
    bool other_got_it = false;
    auto other = balrog::spawn([&] {
      EXPECT_FALSE(m.try_lock());
      std::lock_guard g(m);  // suspends this fiber until the owner unlocked three times
      other_got_it = true;
    });
    let_fibers_run();
    m.unlock();
    m.unlock();
    let_fibers_run();
    EXPECT_FALSE(other_got_it);
    m.unlock();
    other.join();
    EXPECT_TRUE(other_got_it);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(RecursiveMutex, TimedLockTimesOutWhileAnotherFiberHoldsIt) {
  balrog::run([] {
    balrog::recursive_timed_mutex m;
    std::unique_lock held(m);
    auto other = balrog::spawn([&] { return m.try_lock_for(10ms); });
    EXPECT_FALSE(other.join());
    EXPECT_TRUE(m.try_lock_until(balrog::clock::now()));  // re-entry never waits
    m.unlock();
  });
}

TEST(RecursiveMutex, WorksBetweenPlainThreads) {
  balrog::recursive_mutex m;
  int counter = 0;
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&] {
      for (int k = 0; k < 1000; ++k) {
        std::lock_guard a(m);
        std::lock_guard b(m);
        ++counter;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(counter, 4000);
}

TEST(RecursiveMutex, UnlockByNonOwnerAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        balrog::recursive_mutex m;
        m.unlock();
      },
      "recursive_mutex::unlock: the caller does not hold the mutex");
}

// ---- counting_semaphore -------------------------------------------------------------------

TEST(CountingSemaphore, StdApi) {
  balrog::run([] {
    static_assert(balrog::binary_semaphore::max() == 1);
    static_assert(balrog::counting_semaphore<5>::max() == 5);
    balrog::counting_semaphore<3> s(2);
    s.acquire();
    EXPECT_TRUE(s.try_acquire());
    EXPECT_FALSE(s.try_acquire());
    EXPECT_FALSE(s.try_acquire_for(5ms));
    bool got = false;
    auto waiter = balrog::spawn([&] {
      s.acquire();
      got = true;
    });
    let_fibers_run();
    EXPECT_FALSE(got);
    s.release();
    waiter.join();
    EXPECT_TRUE(got);
    s.release(3);
    EXPECT_THROW(s.release(), balrog::usage_error);  // past max()
  });
}

TEST(CountingSemaphore, BinarySemaphoreSignalsBetweenFibers) {
  balrog::run([] {
    balrog::binary_semaphore ready(0);
    int value = 0;
    auto producer = balrog::spawn([&] {
      value = 42;
      ready.release();
    });
    ready.acquire();
    EXPECT_EQ(value, 42);
    producer.join();
    EXPECT_THROW(balrog::binary_semaphore(2), balrog::usage_error);
  });
}

// ---- latch --------------------------------------------------------------------------------

TEST(Latch, WaitersWakeWhenTheCountReachesZero) {
  balrog::run([] {
    balrog::latch done(3);
    EXPECT_FALSE(done.try_wait());
    std::atomic<int> woken{0};
    std::vector<balrog::fiber<void>> waiters;
    for (int i = 0; i < 3; ++i) {
      waiters.push_back(balrog::spawn([&] {
        done.wait();
        ++woken;
      }));
    }
    let_fibers_run();
    done.count_down(2);
    let_fibers_run();
    EXPECT_EQ(woken, 0);
    done.arrive_and_wait();
    for (auto& w : waiters) w.join();
    EXPECT_EQ(woken, 3);
    EXPECT_TRUE(done.try_wait());
    EXPECT_THROW(done.count_down(), balrog::usage_error);
  });
}

TEST(Latch, ZeroIsOpenNegativeIsUsageError) {
  balrog::latch open(0);
  EXPECT_TRUE(open.try_wait());
  open.wait();
  EXPECT_THROW(balrog::latch(-1), balrog::usage_error);
}

TEST(Latch, WaitIsCancellable) {
  balrog::run([] {
    balrog::latch never(1);
    auto f = balrog::spawn([&] { never.wait(); });
    let_fibers_run();
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
  });
}

// ---- barrier ------------------------------------------------------------------------------

TEST(Barrier, PhasesRunTheCompletionOncePerPhase) {
  balrog::run([] {
    int completions = 0;
    std::vector<int> seen_at_completion;
    std::atomic<int> arrived{0};
    balrog::barrier sync(3, [&]() noexcept {
      ++completions;
      seen_at_completion.push_back(arrived.load());
    });
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 3; ++i) {
      fibers.push_back(balrog::spawn([&] {
        for (int phase = 0; phase < 4; ++phase) {
          ++arrived;
          sync.arrive_and_wait();
        }
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_EQ(completions, 4);
    EXPECT_EQ(seen_at_completion, (std::vector<int>{3, 6, 9, 12}));
  });
}

TEST(Barrier, ArriveAndDropShrinksLaterPhases) {
  balrog::run([] {
    balrog::barrier<> sync(2);
    auto dropper = balrog::spawn([&] { sync.arrive_and_drop(); });
    sync.arrive_and_wait();  // phase 0: us + the dropper
    dropper.join();
    auto token = sync.arrive();  // phase 1 expects only us: completes at once
    sync.wait(std::move(token));
    EXPECT_THROW((void)sync.arrive(2), balrog::usage_error);
  });
}

TEST(Barrier, WorksBetweenPlainThreads) {
  balrog::barrier<> sync(4);
  std::atomic<int> before{0};
  std::atomic<bool> ok{true};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&] {
      ++before;
      sync.arrive_and_wait();
      if (before != 4) ok = false;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_TRUE(ok);
}

}  // namespace
