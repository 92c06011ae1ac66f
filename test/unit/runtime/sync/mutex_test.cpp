// balrog::mutex (balrog/sync/mutex.hpp).
#include "balrog/sync/mutex.hpp"

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
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using balrog_test::give_thread_time_to_park;
using balrog_test::let_fibers_run;
using balrog_test::run_on_thread;
using balrog_test::spin_until;
using balrog_test::stopwatch;

// ---- fibers -------------------------------------------------------------------------------

TEST(Mutex, ExcludesFibersAcrossSuspensions) {
  balrog::run([] {
    balrog::mutex m;
    int inside = 0;
    int max_inside = 0;
    int total = 0;
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 8; ++i) {
      fibers.push_back(balrog::spawn([&] {
        for (int k = 0; k < 20; ++k) {
          std::lock_guard lk(m);
          ++inside;
          max_inside = std::max(max_inside, inside);
          balrog::this_fiber::yield();  // others run and find the mutex held
          ++total;
          --inside;
        }
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_EQ(max_inside, 1);
    EXPECT_EQ(total, 8 * 20);
  });
}

TEST(Mutex, TryLock) {
  balrog::run([] {
    balrog::mutex m;
    EXPECT_TRUE(m.try_lock());
    bool other = true;
    balrog::spawn([&] { other = m.try_lock(); }).join();
    EXPECT_FALSE(other);
    m.unlock();
    balrog::spawn([&] {
      other = m.try_lock();
      if (other) m.unlock();
    }).join();
    EXPECT_TRUE(other);
  });
}

TEST(Mutex, HandsOwnershipToWaitersInFifoOrder) {
  balrog::run([] {
    balrog::mutex m;
    std::vector<int> order;
    m.lock();
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 5; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        std::lock_guard lk(m);
        order.push_back(i);
        balrog::this_fiber::yield();
      }));
      let_fibers_run();  // waiter i queues before waiter i+1 exists
    }
    EXPECT_TRUE(order.empty());
    m.unlock();
    // Handed straight to the first waiter, even though it has not run yet: no barging.
    EXPECT_FALSE(m.try_lock());
    for (auto& f : fibers) f.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(Mutex, RecursiveLockIsUsageError) {
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    EXPECT_THROW(m.lock(), balrog::usage_error);
    m.unlock();  // still held once, by us
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
  // Sync mode too.
  balrog::mutex m;
  m.lock();
  EXPECT_THROW(m.lock(), balrog::usage_error);
  m.unlock();
}

TEST(Mutex, WorksWithStdLockAdapters) {
  balrog::run([] {
    balrog::mutex a;
    balrog::mutex b;
    int n = 0;
    // Opposite orders: std::scoped_lock's deadlock avoidance relies on try_lock.
    auto f1 = balrog::spawn([&] {
      for (int i = 0; i < 50; ++i) {
        std::scoped_lock lk(a, b);
        balrog::this_fiber::yield();
        ++n;
      }
    });
    auto f2 = balrog::spawn([&] {
      for (int i = 0; i < 50; ++i) {
        std::scoped_lock lk(b, a);
        balrog::this_fiber::yield();
        ++n;
      }
    });
    f1.join();
    f2.join();
    EXPECT_EQ(n, 100);
    std::unique_lock ul(a, std::try_to_lock);
    EXPECT_TRUE(ul.owns_lock());
    ul.unlock();
    EXPECT_TRUE(ul.try_lock_for(1ms));
  });
}

// ---- sync mode and cross-thread ------------------------------------------------------------

TEST(Mutex, SyncModeBlocksThePlainThread) {
  balrog::mutex m;
  std::atomic<bool> acquired{false};
  m.lock();
  std::thread t([&] {
    m.lock();
    acquired = true;
    m.unlock();
  });
  give_thread_time_to_park();
  EXPECT_FALSE(acquired.load());  // it waits: parked, not failed
  m.unlock();
  t.join();
  EXPECT_TRUE(acquired.load());
}

TEST(Mutex, SyncModeCounterAcrossThreads) {
  balrog::mutex m;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 5000; ++k) {
        std::lock_guard lk(m);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 4 * 5000);
}

TEST(Mutex, FiberWaitsForPlainThread) {
  // While the main fiber waits for a mutex that a plain thread holds, another fiber of the
  // same shard runs to completion: the wait suspends the fiber, not the thread.
  balrog::mutex m;
  std::atomic<bool> held{false};
  std::atomic<int> ticks{0};
  std::atomic<bool> ticker_ran_while_held{false};
  std::thread holder([&] {
    m.lock();
    held = true;
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (ticks.load() < 3 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    ticker_ran_while_held = ticks.load() == 3;
    m.unlock();
  });
  balrog::run([&] {
    ASSERT_TRUE(spin_until([&] { return held.load(); }));
    auto ticker = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        ++ticks;
        balrog::this_fiber::yield();
      }
    });
    m.lock();  // the ticker can only run from here on
    m.unlock();
    ticker.join();
  });
  holder.join();
  EXPECT_TRUE(ticker_ran_while_held.load());
}

TEST(Mutex, PlainThreadWaitsForFiber) {
  balrog::mutex m;
  std::atomic<bool> held{false};
  std::atomic<bool> acquired{false};
  std::thread waiter;
  balrog::run([&] {
    m.lock();
    held = true;
    waiter = std::thread([&] {
      m.lock();
      acquired = true;
      m.unlock();
    });
    balrog::this_fiber::sleep_for(20ms);  // lets the thread park (not needed for correctness)
    EXPECT_FALSE(acquired.load());
    m.unlock();
  });
  waiter.join();
  EXPECT_TRUE(acquired.load());
}

TEST(Mutex, FibersOnTwoShardsShareAMutex) {
  balrog::mutex m;
  long counter = 0;
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  auto shard = [&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 4; ++i) {
      fibers.push_back(balrog::spawn([&] {
        for (int k = 0; k < 100; ++k) {
          std::lock_guard lk(m);
          if (inside.fetch_add(1) != 0) overlap = true;
          balrog::this_fiber::yield();
          ++counter;
          inside.fetch_sub(1);
        }
      }));
    }
    for (auto& f : fibers) f.join();
  };
  auto a = run_on_thread(shard);
  auto b = run_on_thread(shard);
  a.get();
  b.get();
  EXPECT_FALSE(overlap.load());
  EXPECT_EQ(counter, 2 * 4 * 100);
}

TEST(Mutex, CrossShardHandoffWakesParkedFiber) {
  // The waiter is known to be parked (its own shard ran it until it suspended) before the
  // other shard unlocks, so the wake-up must travel between threads.
  balrog::mutex m;
  std::atomic<bool> held{false};
  std::atomic<bool> waiter_parked{false};
  std::atomic<bool> got_it{false};
  auto holder = run_on_thread([&] {
    m.lock();
    held = true;
    EXPECT_TRUE(spin_until([&] { return waiter_parked.load(); }));
    EXPECT_FALSE(got_it.load());
    m.unlock();
  });
  balrog::run([&] {
    ASSERT_TRUE(spin_until([&] { return held.load(); }));
    auto w = balrog::spawn([&] {
      m.lock();
      got_it = true;
      m.unlock();
    });
    let_fibers_run();
    waiter_parked = true;
    w.join();
  });
  holder.get();
  EXPECT_TRUE(got_it.load());
}

// ---- own timeouts ---------------------------------------------------------------------------

TEST(Mutex, TryLockForTimesOutOnAFiber) {
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    auto f = balrog::spawn([&] {
      stopwatch sw;
      const bool ok = m.try_lock_for(50ms);
      EXPECT_GE(sw.elapsed(), 45ms);
      EXPECT_LT(sw.elapsed(), 2s);
      return ok;
    });
    EXPECT_FALSE(f.join());
    m.unlock();  // still ours: the timed-out waiter does not own it
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(Mutex, TryLockUntilTimesOut) {
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    auto f = balrog::spawn([&] {
      stopwatch sw;
      EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() + 30ms));
      EXPECT_GE(sw.elapsed(), 25ms);
      sw.restart();
      EXPECT_FALSE(m.try_lock_until(std::chrono::system_clock::now() + 30ms));
      EXPECT_GE(sw.elapsed(), 20ms);  // converted from another clock: allow some slack
      EXPECT_LT(sw.elapsed(), 2s);
    });
    f.join();
    m.unlock();
  });
}

TEST(Mutex, TryLockForSucceedsWhenReleasedInTime) {
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    auto f = balrog::spawn([&] {
      const bool ok = m.try_lock_for(5s);
      if (ok) m.unlock();
      return ok;
    });
    let_fibers_run();
    m.unlock();
    EXPECT_TRUE(f.join());
  });
}

TEST(Mutex, PastDeadlineStillTakesAFreeMutex) {
  balrog::run([] {
    balrog::mutex m;
    EXPECT_TRUE(m.try_lock_for(0ms));
    m.unlock();
    EXPECT_TRUE(m.try_lock_for(-5ms));
    m.unlock();
    EXPECT_TRUE(m.try_lock_until(std::chrono::steady_clock::now() - 1s));
    m.unlock();
    // ...but a held one is not waited for.
    m.lock();
    auto f = balrog::spawn([&] {
      stopwatch sw;
      EXPECT_FALSE(m.try_lock_for(0ms));
      EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() - 1s));
      EXPECT_LT(sw.elapsed(), 1s);
    });
    f.join();
    m.unlock();
  });
}

TEST(Mutex, SyncModeTryLockForTimesOut) {
  balrog::mutex m;
  m.lock();
  std::thread t([&] {
    stopwatch sw;
    EXPECT_FALSE(m.try_lock_for(50ms));
    EXPECT_GE(sw.elapsed(), 45ms);
    EXPECT_LT(sw.elapsed(), 2s);
    EXPECT_FALSE(m.try_lock_for(0ms));
  });
  t.join();
  m.unlock();
  EXPECT_TRUE(m.try_lock_for(-1ms));
  m.unlock();
}

// ---- deadline_scope -------------------------------------------------------------------------

TEST(Mutex, DeadlineScopeTimesOutLockAndWaiterDoesNotOwnIt) {
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    auto f = balrog::spawn([&] {
      balrog::deadline_scope scope(40ms);
      stopwatch sw;
      EXPECT_THROW(m.lock(), balrog::timeout_error);
      EXPECT_GE(sw.elapsed(), 35ms);
      EXPECT_LT(sw.elapsed(), 2s);
    });
    f.join();
    m.unlock();
    EXPECT_TRUE(m.try_lock());  // free: not handed to the timed-out waiter
    m.unlock();
  });
}

TEST(Mutex, UnlockSkipsTimedOutWaiterAndHandsToTheNext) {
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    auto doomed = balrog::spawn([&] {
      balrog::deadline_scope scope(30ms);
      m.lock();
    });
    let_fibers_run();
    bool second_got_it = false;
    auto second = balrog::spawn([&] {
      m.lock();
      second_got_it = true;
      m.unlock();
    });
    let_fibers_run();
    EXPECT_THROW(doomed.join(), balrog::timeout_error);
    m.unlock();
    EXPECT_FALSE(m.try_lock());  // handed to `second`
    second.join();
    EXPECT_TRUE(second_got_it);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(Mutex, DeadlineScopeAndOwnDeadlineEarlierWins) {
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    auto f = balrog::spawn([&] {
      {
        balrog::deadline_scope scope(30ms);
        EXPECT_THROW((void)m.try_lock_for(10s), balrog::timeout_error);  // the scope is earlier
      }
      {
        balrog::deadline_scope scope(10s);
        EXPECT_FALSE(m.try_lock_for(20ms));  // its own time is earlier: false, no throw
      }
    });
    f.join();
    m.unlock();
  });
}

TEST(Mutex, ExpiredDeadlineScopeStillTakesAFreeMutex) {
  balrog::run([] {
    balrog::mutex m;
    balrog::deadline_scope scope(-1ms);
    m.lock();
    m.unlock();
  });
  balrog::mutex m;
  balrog::deadline_scope scope(-1ms);  // sync mode
  m.lock();
  m.unlock();
}

TEST(Mutex, SyncModeDeadlineScopeThrows) {
  balrog::mutex m;
  m.lock();
  std::thread t([&] {
    balrog::deadline_scope scope(30ms);
    EXPECT_THROW(m.lock(), balrog::timeout_error);
  });
  t.join();
  m.unlock();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

// ---- cancellation ---------------------------------------------------------------------------

TEST(Mutex, CancelWaitingFiber) {
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    auto doomed = balrog::spawn([&] { m.lock(); });
    let_fibers_run();
    bool second_got_it = false;
    auto second = balrog::spawn([&] {
      m.lock();
      second_got_it = true;
      m.unlock();
    });
    let_fibers_run();
    doomed.cancel();
    EXPECT_THROW(doomed.join(), balrog::cancelled);
    m.unlock();  // goes to `second`, not to the cancelled waiter
    second.join();
    EXPECT_TRUE(second_got_it);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(Mutex, CancelledWaiterUnlinkedBeforeUnlock) {
  // The cancelled waiter has been claimed but has not run yet when the holder unlocks: the
  // mutex must skip it and end up free.
  balrog::run([] {
    balrog::mutex m;
    m.lock();
    auto doomed = balrog::spawn([&] { m.lock(); });
    let_fibers_run();
    doomed.cancel();
    m.unlock();  // before `doomed` runs
    EXPECT_TRUE(m.try_lock());
    m.unlock();
    EXPECT_THROW(doomed.join(), balrog::cancelled);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(Mutex, CancellationIsStickyAndShieldSuppressesIt) {
  balrog::run([] {
    balrog::mutex m;
    bool first = false;
    bool second = false;
    bool shielded_lock = false;
    m.lock();
    auto f = balrog::spawn([&] {
      try {
        m.lock();
      } catch (const balrog::cancelled&) {
        first = true;
      }
      try {
        m.lock();
      } catch (const balrog::cancelled&) {
        second = true;
      }
      {
        balrog::this_fiber::cancellation_shield shield;
        m.lock();  // waits despite the pending cancellation
        shielded_lock = true;
        m.unlock();
      }
      balrog::this_fiber::yield();  // first suspension after the shield: throws
      ADD_FAILURE() << "yield after the shield should have thrown cancelled";
    });
    let_fibers_run();
    f.cancel();
    let_fibers_run();  // f catches, fails again, then waits shielded
    EXPECT_TRUE(first);
    EXPECT_TRUE(second);
    EXPECT_FALSE(shielded_lock);
    m.unlock();
    EXPECT_THROW(f.join(), balrog::cancelled);
    EXPECT_TRUE(shielded_lock);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(Mutex, CancelFromAnotherThread) {
  balrog::mutex m;
  m.lock();  // held by this plain thread
  std::atomic<balrog::fiber<void>*> handle{nullptr};
  std::thread canceller([&] {
    while (handle.load() == nullptr) std::this_thread::yield();
    handle.load()->cancel();  // the fiber is parked already
  });
  balrog::run([&] {
    auto f = balrog::spawn([&] { m.lock(); });
    let_fibers_run();
    handle = &f;
    EXPECT_THROW(f.join(), balrog::cancelled);
  });
  canceller.join();
  m.unlock();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

// ---- documented assertions ------------------------------------------------------------------

TEST(MutexDeathTest, UnlockOfAFreeMutexAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        balrog::mutex m;
        m.unlock();
      },
      "balrog::mutex::unlock: the caller does not hold the mutex");
}

TEST(MutexDeathTest, UnlockByAnotherFiberAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run([] {
                 balrog::mutex m;
                 m.lock();
                 balrog::spawn([&] { m.unlock(); }).join();
               }),
               "balrog::mutex::unlock: the caller does not hold the mutex");
}

TEST(MutexDeathTest, UnlockByAnotherThreadAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        balrog::mutex m;
        m.lock();
        std::thread([&] { m.unlock(); }).join();
      },
      "does not hold the mutex");
}

// ---- stress ---------------------------------------------------------------------------------

TEST(Mutex, StressThousandFibers) {
  balrog::run([] {
    balrog::mutex m;
    long counter = 0;
    bool overlap = false;
    bool inside = false;
    std::vector<balrog::fiber<void>> fibers;
    fibers.reserve(1000);
    for (int i = 0; i < 1000; ++i) {
      fibers.push_back(balrog::spawn([&] {
        for (int k = 0; k < 3; ++k) {
          std::lock_guard lk(m);
          if (inside) overlap = true;
          inside = true;
          const long seen = counter;
          balrog::this_fiber::yield();
          counter = seen + 1;
          inside = false;
        }
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_FALSE(overlap);
    EXPECT_EQ(counter, 3000);
  });
}

TEST(Mutex, StressTimedLocksRaceHandoffsAcrossShardsAndThreads) {
  // Very short timeouts on a contended mutex make timeouts race with unlock's hand-over, on
  // two shards and two plain threads at once. Mutual exclusion must hold, and at the end the
  // mutex must be free (no hand-over to a waiter that had already given up).
  balrog::mutex m;
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  std::atomic<long> wins{0};
  std::atomic<long> timeouts{0};
  auto attempt = [&](int k) {
    if (m.try_lock_for(std::chrono::microseconds(k % 7 * 50))) {
      if (inside.fetch_add(1) != 0) overlap = true;
      ++wins;
      inside.fetch_sub(1);
      m.unlock();
    } else {
      ++timeouts;
    }
  };
  balrog_test::stress_from_shards_and_threads(
      attempt, {.fibers = 4, .rounds = 300, .yield_every = 3, .threads = 2});
  EXPECT_FALSE(overlap.load());
  EXPECT_EQ(wins.load() + timeouts.load(), 2 * 4 * 300 + 2 * 300);
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

}  // namespace
