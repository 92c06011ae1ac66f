// balrog::wait_group (balrog/sync/wait_group.hpp).
#include "balrog/sync/wait_group.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using balrog_test::give_thread_time_to_park;
using balrog_test::let_fibers_run;
using balrog_test::run_on_thread;
using balrog_test::stopwatch;

// ---- basics -------------------------------------------------------------------------------

TEST(WaitGroup, ZeroPassesAtOnce) {
  balrog::wait_group wg;
  EXPECT_EQ(wg.count(), 0);
  wg.wait();
  EXPECT_TRUE(wg.wait_for(0ms));
  balrog::run([&] { wg.wait(); });
}

TEST(WaitGroup, AddDoneAndCount) {
  balrog::wait_group wg;
  wg.add();
  wg.add(3);
  EXPECT_EQ(wg.count(), 4);
  wg.add(0);
  EXPECT_EQ(wg.count(), 4);
  wg.add(-2);
  wg.done();
  EXPECT_EQ(wg.count(), 1);
  EXPECT_FALSE(wg.wait_for(0ms));
  wg.done();
  EXPECT_EQ(wg.count(), 0);
  wg.wait();
}

TEST(WaitGroup, WaitsForDetachedFibers) {
  balrog::run([] {
    balrog::wait_group wg;
    int finished = 0;
    for (int i = 0; i < 10; ++i) {
      wg.add();
      balrog::spawn([&, i] {
        balrog::this_fiber::sleep_for(std::chrono::milliseconds(i % 3));
        ++finished;
        wg.done();
      }).detach();
    }
    wg.wait();
    EXPECT_EQ(finished, 10);
    EXPECT_EQ(wg.count(), 0);
  });
}

TEST(WaitGroup, EveryWaiterIsWoken) {
  balrog::run([] {
    balrog::wait_group wg;
    wg.add(2);
    int woken = 0;
    std::vector<balrog::fiber<void>> waiters;
    for (int i = 0; i < 3; ++i) {
      waiters.push_back(balrog::spawn([&] {
        wg.wait();
        ++woken;
      }));
    }
    let_fibers_run();
    wg.done();
    let_fibers_run();
    EXPECT_EQ(woken, 0);
    wg.done();
    for (auto& w : waiters) w.join();
    EXPECT_EQ(woken, 3);
  });
}

TEST(WaitGroup, ReusableAfterReachingZero) {
  balrog::run([] {
    balrog::wait_group wg;
    for (int round = 0; round < 3; ++round) {
      wg.add(2);
      bool passed = false;
      auto w = balrog::spawn([&] {
        wg.wait();
        passed = true;
      });
      let_fibers_run();
      EXPECT_FALSE(passed);
      wg.done();
      wg.done();
      w.join();
      EXPECT_TRUE(passed);
    }
  });
}

// ---- bad input ------------------------------------------------------------------------------

TEST(WaitGroup, GoingNegativeIsUsageErrorAndChangesNothing) {
  balrog::run([] {
    balrog::wait_group wg;
    EXPECT_THROW(wg.done(), balrog::usage_error);
    EXPECT_EQ(wg.count(), 0);
    wg.wait();  // still open

    wg.add(2);
    bool passed = false;
    auto w = balrog::spawn([&] {
      wg.wait();
      passed = true;
    });
    let_fibers_run();
    EXPECT_THROW(wg.add(-3), balrog::usage_error);
    EXPECT_EQ(wg.count(), 2);
    let_fibers_run();
    EXPECT_FALSE(passed);  // the waiter was not released
    wg.add(-2);
    w.join();
    EXPECT_TRUE(passed);
    EXPECT_EQ(wg.count(), 0);
  });
}

// ---- sync mode and cross-thread ------------------------------------------------------------

TEST(WaitGroup, SyncModeWaitsForThreads) {
  balrog::wait_group wg;
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    wg.add();
    threads.emplace_back([&] {
      ++finished;
      wg.done();
    });
  }
  wg.wait();
  EXPECT_EQ(finished.load(), 8);
  for (auto& t : threads) t.join();
}

TEST(WaitGroup, SyncModeBlocksThePlainThread) {
  balrog::wait_group wg;
  wg.add();
  std::atomic<bool> passed{false};
  std::thread t([&] {
    wg.wait();
    passed = true;
  });
  give_thread_time_to_park();
  EXPECT_FALSE(passed.load());
  wg.done();
  t.join();
  EXPECT_TRUE(passed.load());
}

TEST(WaitGroup, FiberWaitsForPlainThreads) {
  balrog::wait_group wg;
  wg.add(4);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      wg.done();
    });
  }
  balrog::run([&] {
    go = true;
    wg.wait();
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wg.count(), 0);
}

TEST(WaitGroup, FibersOnTwoShardsReportToOneWaiter) {
  balrog::wait_group wg;
  constexpr int per_shard = 50;
  wg.add(2 * per_shard);
  auto worker = [&] {
    for (int i = 0; i < per_shard; ++i) {
      balrog::spawn([&] {
        balrog::this_fiber::yield();
        wg.done();
      }).detach();
    }
    wg.wait();  // each shard also waits for the whole group
  };
  auto a = run_on_thread(worker);
  auto b = run_on_thread(worker);
  wg.wait();
  a.get();
  b.get();
  EXPECT_EQ(wg.count(), 0);
}

// ---- own timeouts ---------------------------------------------------------------------------

TEST(WaitGroup, WaitForTimesOut) {
  balrog::run([] {
    balrog::wait_group wg;
    wg.add();
    stopwatch sw;
    EXPECT_FALSE(wg.wait_for(50ms));
    EXPECT_GE(sw.elapsed(), 45ms);
    sw.restart();
    EXPECT_FALSE(wg.wait_until(std::chrono::steady_clock::now() + 30ms));
    EXPECT_GE(sw.elapsed(), 25ms);
    sw.restart();
    EXPECT_FALSE(wg.wait_until(std::chrono::system_clock::now() + 30ms));
    EXPECT_GE(sw.elapsed(), 20ms);
    EXPECT_LT(sw.elapsed(), 2s);
    EXPECT_EQ(wg.count(), 1);
    wg.done();
    EXPECT_TRUE(wg.wait_for(-1s));  // past deadline, nothing to wait for
    EXPECT_TRUE(wg.wait_until(std::chrono::steady_clock::now() - 1s));
  });
}

TEST(WaitGroup, WaitForSucceedsWhenDoneInTime) {
  balrog::run([] {
    balrog::wait_group wg;
    wg.add();
    auto f = balrog::spawn([&] { return wg.wait_for(10s); });
    let_fibers_run();
    wg.done();
    EXPECT_TRUE(f.join());
  });
}

TEST(WaitGroup, SyncModeWaitForTimesOut) {
  balrog::wait_group wg;
  wg.add();
  stopwatch sw;
  EXPECT_FALSE(wg.wait_for(40ms));
  EXPECT_GE(sw.elapsed(), 35ms);
  EXPECT_LT(sw.elapsed(), 2s);
}

// ---- deadline_scope -------------------------------------------------------------------------

TEST(WaitGroup, DeadlineScopeThrows) {
  balrog::run([] {
    balrog::wait_group wg;
    wg.add();
    {
      balrog::deadline_scope scope(30ms);
      EXPECT_THROW(wg.wait(), balrog::timeout_error);
      EXPECT_THROW((void)wg.wait_for(10s), balrog::timeout_error);
    }
    EXPECT_EQ(wg.count(), 1);
    wg.done();
    balrog::deadline_scope past(-1ms);
    wg.wait();  // nothing to wait for
  });
  balrog::wait_group wg;  // sync mode
  wg.add();
  balrog::deadline_scope scope(20ms);
  EXPECT_THROW(wg.wait(), balrog::timeout_error);
}

// ---- cancellation ---------------------------------------------------------------------------

TEST(WaitGroup, CancelWaiter) {
  balrog::run([] {
    balrog::wait_group wg;
    wg.add();
    auto doomed = balrog::spawn([&] { wg.wait(); });
    auto other = balrog::spawn([&] { wg.wait(); });
    let_fibers_run();
    doomed.cancel();
    EXPECT_THROW(doomed.join(), balrog::cancelled);
    EXPECT_EQ(wg.count(), 1);
    wg.done();
    other.join();
  });
}

TEST(WaitGroup, CancellationIsStickyAndShieldSuppressesIt) {
  balrog::run([] {
    balrog::wait_group wg;
    wg.add();
    int thrown = 0;
    bool shielded = false;
    auto f = balrog::spawn([&] {
      for (int i = 0; i < 2; ++i) {
        try {
          wg.wait();
        } catch (const balrog::cancelled&) {
          ++thrown;
        }
      }
      balrog::this_fiber::cancellation_shield shield;
      wg.wait();
      shielded = true;
    });
    let_fibers_run();
    f.cancel();
    let_fibers_run();
    EXPECT_EQ(thrown, 2);
    wg.done();
    f.join();
    EXPECT_TRUE(shielded);
  });
}

}  // namespace
