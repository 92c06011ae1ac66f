// balrog::condition_variable and condition_variable_any (balrog/sync/condition_variable.hpp).
#include "balrog/sync/condition_variable.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/mutex.hpp"
#include "balrog/sync/shared_mutex.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using balrog_test::another_fiber_can_lock;
using balrog_test::let_fibers_run;
using balrog_test::run_on_thread;
using balrog_test::spin_until;
using balrog_test::stopwatch;

// ---- fibers -------------------------------------------------------------------------------

TEST(ConditionVariable, WaitWithPredicate) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool ready = false;
    int seen = 0;
    auto consumer = balrog::spawn([&] {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return ready; });
      EXPECT_TRUE(lk.owns_lock());
      seen = 1;
    });
    let_fibers_run();
    EXPECT_EQ(seen, 0);
    {
      std::lock_guard lk(m);
      ready = true;
    }
    cv.notify_one();
    consumer.join();
    EXPECT_EQ(seen, 1);
  });
}

TEST(ConditionVariable, PredicateAlreadyTrueDoesNotWait) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    std::unique_lock lk(m);
    cv.wait(lk, [] { return true; });
    EXPECT_TRUE(cv.wait_for(lk, 10s, [] { return true; }));
    EXPECT_TRUE(cv.wait_until(lk, std::chrono::steady_clock::now() - 1s, [] { return true; }));
    EXPECT_TRUE(lk.owns_lock());
  });
}

TEST(ConditionVariable, NotifyOneWakesOneNotifyAllWakesAll) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    int woken = 0;
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 4; ++i) {
      fibers.push_back(balrog::spawn([&] {
        std::unique_lock lk(m);
        cv.wait(lk);  // this implementation has no spurious wake-ups
        ++woken;
      }));
    }
    let_fibers_run();
    EXPECT_EQ(woken, 0);
    cv.notify_one();
    let_fibers_run();
    EXPECT_EQ(woken, 1);
    cv.notify_one();
    let_fibers_run();
    EXPECT_EQ(woken, 2);
    cv.notify_all();
    for (auto& f : fibers) f.join();
    EXPECT_EQ(woken, 4);
  });
}

TEST(ConditionVariable, NotifyWithoutWaitersIsNotRemembered) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    cv.notify_one();
    cv.notify_all();
    std::unique_lock lk(m);
    EXPECT_EQ(cv.wait_for(lk, 20ms), std::cv_status::timeout);
  });
}

TEST(ConditionVariable, NotifyWhileHoldingTheLock) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool ready = false;
    auto waiter = balrog::spawn([&] {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return ready; });
    });
    let_fibers_run();
    {
      std::lock_guard lk(m);
      ready = true;
      cv.notify_one();
      let_fibers_run();  // the waiter was woken but must wait for the mutex
      EXPECT_FALSE(waiter.done());
    }
    waiter.join();
  });
}

// ---- own timeouts ---------------------------------------------------------------------------

TEST(ConditionVariable, WaitForTimesOutAndHoldsTheLock) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    std::unique_lock lk(m);
    stopwatch sw;
    EXPECT_EQ(cv.wait_for(lk, 50ms), std::cv_status::timeout);
    EXPECT_GE(sw.elapsed(), 45ms);
    EXPECT_LT(sw.elapsed(), 2s);
    EXPECT_TRUE(lk.owns_lock());
    EXPECT_FALSE(another_fiber_can_lock(m));  // held
  });
}

TEST(ConditionVariable, WaitUntilTimesOutOnBothClocks) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    std::unique_lock lk(m);
    stopwatch sw;
    EXPECT_EQ(cv.wait_until(lk, std::chrono::steady_clock::now() + 30ms), std::cv_status::timeout);
    EXPECT_GE(sw.elapsed(), 25ms);
    sw.restart();
    EXPECT_EQ(cv.wait_until(lk, std::chrono::system_clock::now() + 30ms), std::cv_status::timeout);
    EXPECT_GE(sw.elapsed(), 20ms);
    EXPECT_LT(sw.elapsed(), 2s);
    // A past time: timeout at once, still holding the lock.
    EXPECT_EQ(cv.wait_until(lk, std::chrono::steady_clock::now() - 1s), std::cv_status::timeout);
    EXPECT_EQ(cv.wait_for(lk, 0ms), std::cv_status::timeout);
    EXPECT_TRUE(lk.owns_lock());
  });
}

TEST(ConditionVariable, WaitForNotifiedInTime) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool ready = false;
    auto waiter = balrog::spawn([&] {
      std::unique_lock lk(m);
      const bool ok = cv.wait_for(lk, 10s, [&] { return ready; });
      EXPECT_TRUE(lk.owns_lock());
      return ok;
    });
    let_fibers_run();
    {
      std::lock_guard lk(m);
      ready = true;
    }
    cv.notify_all();
    EXPECT_TRUE(waiter.join());
  });
}

TEST(ConditionVariable, WaitForPredicateReturnsPredicateOnTimeout) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    std::unique_lock lk(m);
    stopwatch sw;
    EXPECT_FALSE(cv.wait_for(lk, 40ms, [] { return false; }));
    EXPECT_GE(sw.elapsed(), 35ms);
    EXPECT_FALSE(cv.wait_until(lk, std::chrono::steady_clock::now() + 20ms, [] { return false; }));
    EXPECT_LT(sw.elapsed(), 2s);
    // Notified but the predicate stays false: keeps waiting until the time is up.
    int calls = 0;
    auto notifier = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        cv.notify_all();
        balrog::this_fiber::sleep_for(5ms);
      }
    });
    sw.restart();
    EXPECT_FALSE(cv.wait_for(lk, 60ms, [&] {
      ++calls;
      return false;
    }));
    EXPECT_GE(sw.elapsed(), 55ms);
    EXPECT_GE(calls, 2);
    lk.unlock();
    notifier.join();
  });
}

TEST(ConditionVariable, HugeTimeoutsSaturateInsteadOfOverflowing) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    int step = 0;
    auto notifier = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        balrog::this_fiber::sleep_for(2ms);
        std::lock_guard lk(m);
        ++step;
        cv.notify_all();
      }
    });
    std::unique_lock lk(m);
    EXPECT_EQ(cv.wait_for(lk, std::chrono::hours::max()), std::cv_status::no_timeout);
    EXPECT_EQ(cv.wait_until(lk, std::chrono::steady_clock::time_point::max()),
              std::cv_status::no_timeout);
    EXPECT_EQ(cv.wait_until(lk, std::chrono::system_clock::time_point::max()),
              std::cv_status::no_timeout);
    lk.unlock();
    notifier.join();
    EXPECT_EQ(step, 3);
  });
}

// Found by this suite: deadline's conversion from another clock used to compute
// `when - Clock::now()`, which overflows for system_clock::time_point::min() and wrapped to a
// far future time; seconds::min() overflowed in duration_cast. deadline now saturates both ways.
TEST(ConditionVariable, WaitUntilMinimumTimePointOfAnotherClockTimesOut) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    std::unique_lock lk(m);
    balrog::deadline_scope guard(500ms);  // turns the hang into a timeout_error
    EXPECT_EQ(cv.wait_until(lk, std::chrono::system_clock::time_point::min()),
              std::cv_status::timeout);
    EXPECT_EQ(cv.wait_for(lk, std::chrono::seconds::min()), std::cv_status::timeout);
  });
}

// ---- deadline_scope -------------------------------------------------------------------------

TEST(ConditionVariable, DeadlineScopeThrowsAndLockIsReacquired) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    std::unique_lock lk(m);
    stopwatch sw;
    try {
      balrog::deadline_scope scope(40ms);
      cv.wait(lk);
      ADD_FAILURE() << "wait should have thrown";
    } catch (const balrog::timeout_error&) {
      EXPECT_GE(sw.elapsed(), 35ms);
      EXPECT_TRUE(lk.owns_lock());
      EXPECT_FALSE(another_fiber_can_lock(m));  // held
    }
    // The scope beats a later own deadline, and a predicate form throws too.
    {
      balrog::deadline_scope scope(20ms);
      EXPECT_THROW((void)cv.wait_for(lk, 10s), balrog::timeout_error);
      EXPECT_THROW(cv.wait(lk, [] { return false; }), balrog::timeout_error);
      EXPECT_THROW(
          (void)cv.wait_until(lk, std::chrono::steady_clock::now() + 10s, [] { return false; }),
          balrog::timeout_error);
    }
    // An earlier own deadline: a plain timeout, no throw.
    {
      balrog::deadline_scope scope(10s);
      EXPECT_EQ(cv.wait_for(lk, 10ms), std::cv_status::timeout);
    }
    EXPECT_TRUE(lk.owns_lock());
    EXPECT_LT(sw.elapsed(), 2s);
  });
}

TEST(ConditionVariable, DeadlinePassingWhileReacquiringStillReacquires) {
  // Notified in time, but the mutex stays held by the notifier beyond the waiter's scope:
  // the re-acquisition is not interrupted, so the waiter returns holding the lock.
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool returned_holding = false;
    bool later_timeout = false;
    auto waiter = balrog::spawn([&] {
      balrog::deadline_scope scope(30ms);
      std::unique_lock lk(m);
      cv.wait(lk);
      returned_holding = lk.owns_lock();
      try {
        balrog::this_fiber::yield();  // the scope has passed: the next suspension throws
      } catch (const balrog::timeout_error&) {
        later_timeout = true;
      }
    });
    let_fibers_run();
    {
      std::lock_guard lk(m);
      cv.notify_one();
      balrog::this_fiber::sleep_for(60ms);  // past the waiter's deadline, lock still held
    }
    waiter.join();
    EXPECT_TRUE(returned_holding);
    EXPECT_TRUE(later_timeout);
  });
}

TEST(ConditionVariable, ScopeTimeoutWaitsForTheMutexBeforeThrowing) {
  // The scope passes while another fiber holds the mutex: wait() first re-acquires it (however
  // long that takes), then throws timeout_error.
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool owned_in_catch = false;
    auto waiter = balrog::spawn([&] {
      std::unique_lock lk(m);
      try {
        balrog::deadline_scope scope(20ms);
        cv.wait(lk);
      } catch (const balrog::timeout_error&) {
        owned_in_catch = lk.owns_lock();
        throw;
      }
    });
    let_fibers_run();
    {
      std::lock_guard lk(m);
      balrog::this_fiber::sleep_for(50ms);  // past the waiter's scope
      EXPECT_FALSE(waiter.done());
    }
    EXPECT_THROW(waiter.join(), balrog::timeout_error);
    EXPECT_TRUE(owned_in_catch);
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

// ---- cancellation ---------------------------------------------------------------------------

TEST(ConditionVariable, CancelledWaitThrowsWithTheLockHeld) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool owned_in_catch = false;
    bool locked_in_catch = false;
    auto waiter = balrog::spawn([&] {
      std::unique_lock lk(m);
      try {
        cv.wait(lk);
      } catch (const balrog::cancelled&) {
        owned_in_catch = lk.owns_lock();
        locked_in_catch = !m.try_lock();
        throw;
      }
    });
    let_fibers_run();
    waiter.cancel();
    EXPECT_THROW(waiter.join(), balrog::cancelled);
    EXPECT_TRUE(owned_in_catch);
    EXPECT_TRUE(locked_in_catch);
    EXPECT_TRUE(m.try_lock());  // released by the unique_lock during unwinding
    m.unlock();
  });
}

TEST(ConditionVariable, CancelledWaitWaitsForTheMutexBeforeThrowing) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool owned_in_catch = false;
    auto waiter = balrog::spawn([&] {
      std::unique_lock lk(m);
      try {
        cv.wait(lk);
      } catch (const balrog::cancelled&) {
        owned_in_catch = lk.owns_lock();
        throw;
      }
    });
    let_fibers_run();
    m.lock();  // the waiter released it in wait(); now we hold it
    waiter.cancel();
    let_fibers_run();
    EXPECT_FALSE(waiter.done());  // cancelled, but re-acquiring the mutex first
    m.unlock();
    EXPECT_THROW(waiter.join(), balrog::cancelled);
    EXPECT_TRUE(owned_in_catch);
  });
}

TEST(ConditionVariable, CancelAfterNotifyDoesNotLoseTheLock) {
  // Notified, then cancelled while waiting to re-acquire: wait() returns normally holding the
  // lock, and the cancellation takes effect at the next suspension point.
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool returned_holding = false;
    auto waiter = balrog::spawn([&] {
      std::unique_lock lk(m);
      cv.wait(lk);
      returned_holding = lk.owns_lock();
      lk.unlock();
      balrog::this_fiber::yield();  // throws cancelled
    });
    let_fibers_run();
    m.lock();
    cv.notify_one();
    waiter.cancel();
    let_fibers_run();
    m.unlock();
    EXPECT_THROW(waiter.join(), balrog::cancelled);
    EXPECT_TRUE(returned_holding);
  });
}

TEST(ConditionVariable, CancelledWaiterDoesNotSwallowANotifyOne) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    auto doomed = balrog::spawn([&] {
      std::unique_lock lk(m);
      cv.wait(lk);
    });
    let_fibers_run();
    bool other_woke = false;
    auto other = balrog::spawn([&] {
      std::unique_lock lk(m);
      cv.wait(lk);
      other_woke = true;
    });
    let_fibers_run();
    doomed.cancel();  // claimed, still queued until it runs
    cv.notify_one();  // must reach `other`
    EXPECT_THROW(doomed.join(), balrog::cancelled);
    other.join();
    EXPECT_TRUE(other_woke);
  });
}

TEST(ConditionVariable, CancellationIsStickyAndShieldSuppressesIt) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    bool ready = false;
    int thrown = 0;
    bool shielded_done = false;
    auto f = balrog::spawn([&] {
      std::unique_lock lk(m);
      for (int i = 0; i < 2; ++i) {
        try {
          cv.wait(lk);
        } catch (const balrog::cancelled&) {
          EXPECT_TRUE(lk.owns_lock());
          ++thrown;
        }
      }
      balrog::this_fiber::cancellation_shield shield;
      cv.wait(lk, [&] { return ready; });
      shielded_done = true;
    });
    let_fibers_run();
    f.cancel();
    let_fibers_run();
    EXPECT_EQ(thrown, 2);
    EXPECT_FALSE(shielded_done);
    {
      std::lock_guard lk(m);
      ready = true;
    }
    cv.notify_all();
    f.join();
    EXPECT_TRUE(shielded_done);
  });
}

// ---- sync mode and cross-thread ------------------------------------------------------------

TEST(ConditionVariable, SyncModeBetweenPlainThreads) {
  balrog::mutex m;
  balrog::condition_variable cv;
  int turn = 0;
  constexpr int rounds = 300;
  std::thread other([&] {
    for (int i = 0; i < rounds; ++i) {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return turn % 2 == 1; });
      ++turn;
      cv.notify_all();
    }
  });
  for (int i = 0; i < rounds; ++i) {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return turn % 2 == 0; });
    ++turn;
    cv.notify_all();
  }
  other.join();
  EXPECT_EQ(turn, 2 * rounds);
}

TEST(ConditionVariable, SyncModeTimeoutAndScope) {
  balrog::mutex m;
  balrog::condition_variable cv;
  std::unique_lock lk(m);
  stopwatch sw;
  EXPECT_EQ(cv.wait_for(lk, 40ms), std::cv_status::timeout);
  EXPECT_GE(sw.elapsed(), 35ms);
  EXPECT_TRUE(lk.owns_lock());
  {
    balrog::deadline_scope scope(30ms);
    EXPECT_THROW(cv.wait(lk), balrog::timeout_error);
  }
  EXPECT_TRUE(lk.owns_lock());
  EXPECT_FALSE(std::async(std::launch::async, [&] { return m.try_lock(); }).get());
  EXPECT_LT(sw.elapsed(), 2s);
}

TEST(ConditionVariable, PingPongBetweenFiberAndPlainThread) {
  balrog::mutex m;
  balrog::condition_variable cv;
  int turn = 0;
  constexpr int rounds = 200;
  std::thread other([&] {
    for (int i = 0; i < rounds; ++i) {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return turn % 2 == 1; });
      ++turn;
      cv.notify_one();
    }
  });
  balrog::run([&] {
    for (int i = 0; i < rounds; ++i) {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return turn % 2 == 0; });
      ++turn;
      cv.notify_one();
    }
  });
  other.join();
  EXPECT_EQ(turn, 2 * rounds);
}

TEST(ConditionVariable, PingPongBetweenTwoShards) {
  balrog::mutex m;
  balrog::condition_variable cv;
  int turn = 0;
  constexpr int rounds = 200;
  auto player = [&](int parity) {
    return [&, parity] {
      for (int i = 0; i < rounds; ++i) {
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return turn % 2 == parity; });
        ++turn;
        cv.notify_one();
      }
    };
  };
  auto a = run_on_thread(player(0));
  auto b = run_on_thread(player(1));
  a.get();
  b.get();
  EXPECT_EQ(turn, 2 * rounds);
}

TEST(ConditionVariable, NotifyFromAnotherThreadWithoutTheLock) {
  balrog::mutex m;
  balrog::condition_variable cv;
  std::atomic<bool> ready{false};
  std::atomic<bool> waiting{false};
  std::thread notifier([&] {
    while (!waiting) std::this_thread::yield();
    ready = true;
    {
      // Taking the mutex once orders `ready` with the waiter's predicate check.
      std::lock_guard lk(m);
    }
    cv.notify_all();
  });
  balrog::run([&] {
    std::unique_lock lk(m);
    waiting = true;
    cv.wait(lk, [&] { return ready.load(); });
  });
  notifier.join();
  EXPECT_TRUE(ready.load());
}

// ---- condition_variable_any -----------------------------------------------------------------

TEST(ConditionVariableAny, WithUniqueLockOnSharedMutex) {
  balrog::run([] {
    balrog::shared_mutex m;
    balrog::condition_variable_any cv;
    bool ready = false;
    auto waiter = balrog::spawn([&] {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return ready; });
      EXPECT_TRUE(lk.owns_lock());
      EXPECT_FALSE(m.try_lock_shared());  // we hold it exclusively
    });
    let_fibers_run();
    EXPECT_TRUE(m.try_lock_shared());  // released while waiting
    m.unlock_shared();
    {
      std::unique_lock lk(m);
      ready = true;
    }
    cv.notify_one();
    waiter.join();
  });
}

TEST(ConditionVariableAny, ReadersWaitWithSharedLock) {
  balrog::run([] {
    balrog::shared_mutex m;
    balrog::condition_variable_any cv;
    bool ready = false;
    int inside_together = 0;
    std::vector<balrog::fiber<void>> readers;
    for (int i = 0; i < 3; ++i) {
      readers.push_back(balrog::spawn([&] {
        std::shared_lock lk(m);
        cv.wait(lk, [&] { return ready; });
        ++inside_together;
        balrog::this_fiber::yield();
      }));
    }
    let_fibers_run();
    {
      std::unique_lock lk(m);  // possible: every reader released it while waiting
      ready = true;
    }
    cv.notify_all();
    for (auto& r : readers) r.join();
    EXPECT_EQ(inside_together, 3);
  });
}

TEST(ConditionVariableAny, TimeoutScopeAndCancelReacquire) {
  balrog::run([] {
    balrog::shared_mutex m;
    balrog::condition_variable_any cv;
    {
      std::unique_lock lk(m);
      EXPECT_EQ(cv.wait_for(lk, 20ms), std::cv_status::timeout);
      EXPECT_TRUE(lk.owns_lock());
      balrog::deadline_scope scope(20ms);
      EXPECT_THROW(cv.wait(lk), balrog::timeout_error);
      EXPECT_TRUE(lk.owns_lock());
      EXPECT_FALSE(m.try_lock_shared());
    }
    bool owned = false;
    auto f = balrog::spawn([&] {
      std::shared_lock lk(m);
      try {
        cv.wait(lk);
      } catch (const balrog::cancelled&) {
        owned = lk.owns_lock();
        throw;
      }
    });
    let_fibers_run();
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
    EXPECT_TRUE(owned);
    EXPECT_TRUE(m.try_lock());  // the shared lock was released on unwinding
    m.unlock();
  });
}

TEST(ConditionVariableAny, WithStdUniqueLockOfBalrogMutexToo) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable_any cv;
    bool ready = false;
    auto waiter = balrog::spawn([&] {
      std::unique_lock lk(m);
      return cv.wait_for(lk, 10s, [&] { return ready; });
    });
    let_fibers_run();
    {
      std::lock_guard lk(m);
      ready = true;
    }
    cv.notify_one();
    EXPECT_TRUE(waiter.join());
  });
}

// ---- stress ---------------------------------------------------------------------------------

TEST(ConditionVariable, StressQueueWithManyFibersOnTwoShards) {
  // A bounded queue built from a mutex and two condition variables, 4 producers and 4
  // consumers spread over two shards.
  balrog::mutex m;
  balrog::condition_variable not_full;
  balrog::condition_variable not_empty;
  std::vector<int> queue;
  long consumed_sum = 0;
  int consumed = 0;
  constexpr int per_producer = 500;
  constexpr int total = 4 * per_producer;
  auto shard = [&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int p = 0; p < 2; ++p) {
      fibers.push_back(balrog::spawn([&] {
        for (int i = 1; i <= per_producer; ++i) {
          std::unique_lock lk(m);
          not_full.wait(lk, [&] { return queue.size() < 8; });
          queue.push_back(i);
          not_empty.notify_one();
        }
      }));
      fibers.push_back(balrog::spawn([&] {
        for (;;) {
          std::unique_lock lk(m);
          not_empty.wait(lk, [&] { return !queue.empty() || consumed == total; });
          if (queue.empty()) return;
          consumed_sum += queue.back();
          queue.pop_back();
          if (++consumed == total) not_empty.notify_all();
          not_full.notify_one();
        }
      }));
    }
    for (auto& f : fibers) f.join();
  };
  auto a = run_on_thread(shard);
  auto b = run_on_thread(shard);
  a.get();
  b.get();
  EXPECT_EQ(consumed, total);
  EXPECT_EQ(consumed_sum, 4L * per_producer * (per_producer + 1) / 2);
}

}  // namespace
