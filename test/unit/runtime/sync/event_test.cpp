// balrog::event (balrog/sync/event.hpp).
#include "balrog/sync/event.hpp"

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

TEST(Event, StartsUnsetSetAndReset) {
  balrog::event e;
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  e.set();  // idempotent
  EXPECT_TRUE(e.is_set());
  e.wait();  // returns at once
  e.reset();
  EXPECT_FALSE(e.is_set());
  e.reset();
  EXPECT_FALSE(e.is_set());
}

TEST(Event, SetWakesEveryWaiter) {
  balrog::run([] {
    balrog::event e;
    int woken = 0;
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 5; ++i) {
      fibers.push_back(balrog::spawn([&] {
        e.wait();
        ++woken;
      }));
    }
    let_fibers_run();
    EXPECT_EQ(woken, 0);
    e.set();
    for (auto& f : fibers) f.join();
    EXPECT_EQ(woken, 5);
    // Later waits pass at once while set...
    e.wait();
    EXPECT_TRUE(e.wait_for(0ms));
  });
}

TEST(Event, ResetMakesWaitsBlockAgain) {
  balrog::run([] {
    balrog::event e;
    e.set();
    e.reset();
    bool passed = false;
    auto f = balrog::spawn([&] {
      e.wait();
      passed = true;
    });
    let_fibers_run();
    EXPECT_FALSE(passed);
    e.set();
    f.join();
    EXPECT_TRUE(passed);
  });
}

TEST(Event, WaiterWokenBySetReturnsEvenIfResetBeforeItRuns) {
  balrog::run([] {
    balrog::event e;
    bool passed = false;
    auto f = balrog::spawn([&] {
      e.wait();
      passed = true;
    });
    let_fibers_run();
    e.set();
    e.reset();  // the waiter was already released
    f.join();
    EXPECT_TRUE(passed);
  });
}

// ---- sync mode and cross-thread ------------------------------------------------------------

TEST(Event, SyncModeBlocksThePlainThread) {
  balrog::event e;
  std::atomic<bool> passed{false};
  std::thread t([&] {
    e.wait();
    passed = true;
  });
  give_thread_time_to_park();
  EXPECT_FALSE(passed.load());
  e.set();
  t.join();
  EXPECT_TRUE(passed.load());
}

TEST(Event, PlainThreadWakesFibersOnTwoShards) {
  balrog::event go;
  std::atomic<int> parked{0};
  auto shard = [&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 3; ++i) fibers.push_back(balrog::spawn([&] { go.wait(); }));
    let_fibers_run();
    parked += 3;  // all three are parked in wait()
    for (auto& f : fibers) f.join();
  };
  auto a = run_on_thread(shard);
  auto b = run_on_thread(shard);
  while (parked.load() < 6) std::this_thread::yield();
  go.set();
  a.get();
  b.get();
}

TEST(Event, FiberWakesPlainThreadAndShardsSignalEachOther) {
  balrog::event to_thread;
  balrog::event to_a;
  balrog::event to_b;
  std::thread t([&] { to_thread.wait(); });
  auto a = run_on_thread([&] {
    to_b.set();
    to_a.wait();
    to_thread.set();
  });
  auto b = run_on_thread([&] {
    to_b.wait();
    to_a.set();
  });
  a.get();
  b.get();
  t.join();
  EXPECT_TRUE(to_thread.is_set());
}

// ---- own timeouts ---------------------------------------------------------------------------

TEST(Event, WaitForTimesOut) {
  balrog::run([] {
    balrog::event e;
    stopwatch sw;
    EXPECT_FALSE(e.wait_for(50ms));
    EXPECT_GE(sw.elapsed(), 45ms);
    sw.restart();
    EXPECT_FALSE(e.wait_until(std::chrono::steady_clock::now() + 30ms));
    EXPECT_GE(sw.elapsed(), 25ms);
    sw.restart();
    EXPECT_FALSE(e.wait_until(std::chrono::system_clock::now() + 30ms));
    EXPECT_GE(sw.elapsed(), 20ms);
    EXPECT_LT(sw.elapsed(), 2s);
  });
}

TEST(Event, WaitForSucceedsWhenSetInTime) {
  balrog::run([] {
    balrog::event e;
    auto f = balrog::spawn([&] { return e.wait_for(10s); });
    let_fibers_run();
    e.set();
    EXPECT_TRUE(f.join());
  });
}

TEST(Event, PastDeadlineReturnsTrueIfSetFalseIfNot) {
  balrog::run([] {
    balrog::event e;
    stopwatch sw;
    EXPECT_FALSE(e.wait_for(0ms));
    EXPECT_FALSE(e.wait_until(std::chrono::steady_clock::now() - 1s));
    EXPECT_LT(sw.elapsed(), 1s);
    e.set();
    EXPECT_TRUE(e.wait_for(0ms));
    EXPECT_TRUE(e.wait_for(-1s));
    EXPECT_TRUE(e.wait_until(std::chrono::steady_clock::now() - 1s));
  });
}

TEST(Event, SyncModeWaitForTimesOut) {
  balrog::event e;
  stopwatch sw;
  EXPECT_FALSE(e.wait_for(40ms));
  EXPECT_GE(sw.elapsed(), 35ms);
  EXPECT_LT(sw.elapsed(), 2s);
  e.set();
  EXPECT_TRUE(e.wait_for(-1ms));
}

// ---- deadline_scope -------------------------------------------------------------------------

TEST(Event, DeadlineScopeThrows) {
  balrog::run([] {
    balrog::event e;
    stopwatch sw;
    {
      balrog::deadline_scope scope(40ms);
      EXPECT_THROW(e.wait(), balrog::timeout_error);
    }
    EXPECT_GE(sw.elapsed(), 35ms);
    {
      balrog::deadline_scope scope(20ms);
      EXPECT_THROW((void)e.wait_for(10s), balrog::timeout_error);
    }
    {
      balrog::deadline_scope scope(10s);
      EXPECT_FALSE(e.wait_for(10ms));
    }
    EXPECT_LT(sw.elapsed(), 2s);
    // The event still works afterwards, and a set event passes even a past scope.
    auto f = balrog::spawn([&] { e.wait(); });
    let_fibers_run();
    e.set();
    f.join();
    balrog::deadline_scope past(-1ms);
    e.wait();
  });
}

TEST(Event, SyncModeDeadlineScope) {
  balrog::event e;
  {
    balrog::deadline_scope scope(30ms);
    EXPECT_THROW(e.wait(), balrog::timeout_error);
  }
  e.set();
  balrog::deadline_scope past(-1ms);
  e.wait();
}

// ---- cancellation ---------------------------------------------------------------------------

TEST(Event, CancelWaiter) {
  balrog::run([] {
    balrog::event e;
    auto doomed = balrog::spawn([&] { e.wait(); });
    bool other = false;
    auto next = balrog::spawn([&] {
      e.wait();
      other = true;
    });
    let_fibers_run();
    doomed.cancel();
    EXPECT_THROW(doomed.join(), balrog::cancelled);
    e.set();
    next.join();
    EXPECT_TRUE(other);
  });
}

TEST(Event, CancellationIsStickyAndShieldSuppressesIt) {
  balrog::run([] {
    balrog::event e;
    int thrown = 0;
    bool shielded = false;
    auto f = balrog::spawn([&] {
      for (int i = 0; i < 2; ++i) {
        try {
          e.wait();
        } catch (const balrog::cancelled&) {
          ++thrown;
        }
      }
      {
        balrog::this_fiber::cancellation_shield shield;
        e.wait();
        shielded = true;
      }
      balrog::this_fiber::yield();  // throws again
    });
    let_fibers_run();
    f.cancel();
    let_fibers_run();
    EXPECT_EQ(thrown, 2);
    EXPECT_FALSE(shielded);
    e.set();
    EXPECT_THROW(f.join(), balrog::cancelled);
    EXPECT_TRUE(shielded);
  });
}

TEST(Event, CancelFromAnotherShard) {
  balrog::event never;
  std::atomic<balrog::fiber<void>*> handle{nullptr};
  std::atomic<bool> done{false};
  auto other = run_on_thread([&] {
    EXPECT_TRUE(balrog_test::spin_until([&] { return handle.load() != nullptr; }));
    handle.load()->cancel();
    EXPECT_TRUE(balrog_test::spin_until([&] { return done.load(); }));
  });
  balrog::run([&] {
    auto f = balrog::spawn([&] { never.wait(); });
    let_fibers_run();
    handle = &f;
    EXPECT_THROW(f.join(), balrog::cancelled);
    done = true;
  });
  other.get();
}

}  // namespace
