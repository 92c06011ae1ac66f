// The std twins of balrog/sync/call_once.hpp and balrog/sync/atomic_wait.hpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/atomic_wait.hpp"
#include "balrog/sync/call_once.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using balrog_test::let_fibers_run;

// ---- call_once ----------------------------------------------------------------------------

TEST(CallOnce, WaitersSuspendWhileTheFirstCallerSuspends) {
  balrog::run([] {
    balrog::once_flag flag;
    int runs = 0;
    int done = 0;
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 4; ++i) {
      fibers.push_back(balrog::spawn([&] {
        balrog::call_once(flag, [&] {
          ++runs;
          balrog::this_fiber::sleep_for(5ms);  // the others must wait, as fibers
        });
        EXPECT_EQ(runs, 1);  // nobody returns before the one call finished
        ++done;
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(done, 4);
  });
}

TEST(CallOnce, AnExceptionLeavesTheFlagUnsetAndArgumentsAreForwarded) {
  balrog::run([] {
    balrog::once_flag flag;
    EXPECT_THROW(balrog::call_once(flag, [] { throw std::runtime_error("first"); }),
                 std::runtime_error);
    int got = 0;
    balrog::call_once(
        flag, [&](int a, int b) { got = a + b; }, 2, 3);
    EXPECT_EQ(got, 5);
    balrog::call_once(flag, [&] { got = -1; });
    EXPECT_EQ(got, 5);
  });
}

TEST(CallOnce, RecursiveCallIsAUsageError) {
  balrog::run([] {
    balrog::once_flag flag;
    EXPECT_THROW(balrog::call_once(flag, [&] { balrog::call_once(flag, [] {}); }),
                 balrog::usage_error);
  });
}

TEST(CallOnce, WorksBetweenPlainThreadsAndShards) {
  balrog::once_flag flag;
  std::atomic<int> runs{0};
  auto body = [&] {
    balrog::call_once(flag, [&] {
      balrog_test::give_thread_time_to_park();
      runs.fetch_add(1);
    });
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(body);
  auto shard = balrog_test::run_on_thread([&] { body(); });
  for (auto& t : threads) t.join();
  shard.get();
  EXPECT_EQ(runs.load(), 1);
}

TEST(CallOnce, StdOnceFlagStillCompilesAndRunsOnce) {
  std::once_flag flag;
  int runs = 0;
  balrog::call_once(flag, [&] { ++runs; });
  balrog::call_once(flag, [&] { ++runs; });
  EXPECT_EQ(runs, 1);
}

// ---- atomic_wait ----------------------------------------------------------------------------

TEST(AtomicWait, FiberWaitsWhileAnotherFiberOfTheShardChangesTheValue) {
  balrog::run([] {
    std::atomic<int> value{0};
    bool woke = false;
    auto waiter = balrog::spawn([&] {
      balrog::atomic_wait(value, 0);
      woke = true;
      EXPECT_EQ(value.load(), 1);
    });
    let_fibers_run();
    EXPECT_FALSE(woke);  // suspended: the shard ran on
    value.store(1);
    balrog::atomic_notify_one(value);
    waiter.join();
    EXPECT_TRUE(woke);
  });
}

TEST(AtomicWait, ReturnsAtOnceWhenTheValueDiffers) {
  balrog::run([] {
    std::atomic<long> value{7};
    balrog::atomic_wait(&value, 0);
    balrog::atomic_wait_explicit(&value, 0, std::memory_order_acquire);
    std::atomic_flag flag;
    flag.test_and_set();
    balrog::atomic_wait(flag, false);
    balrog::atomic_flag_wait(&flag, false);
  });
}

TEST(AtomicWait, NotifyWakesOnlyTheWaitersOfThatAddressAndNotifyAllWakesEveryOne) {
  balrog::run([] {
    std::atomic<int> a{0};
    std::atomic<int> b{0};
    int woke_a = 0;
    int woke_b = 0;
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 3; ++i) {
      fibers.push_back(balrog::spawn([&] {
        balrog::atomic_wait(a, 0);
        ++woke_a;
      }));
    }
    fibers.push_back(balrog::spawn([&] {
      balrog::atomic_wait(b, 0);
      ++woke_b;
    }));
    let_fibers_run();
    // A notify without a change is a spurious wake-up: the waiter re-checks and waits on.
    balrog::atomic_notify_all(a);
    let_fibers_run();
    EXPECT_EQ(woke_a, 0);
    a.store(1);
    balrog::atomic_notify_one(a);
    let_fibers_run();
    EXPECT_EQ(woke_a, 1);
    EXPECT_EQ(woke_b, 0);
    balrog::atomic_notify_all(&a);
    let_fibers_run();
    EXPECT_EQ(woke_a, 3);
    EXPECT_EQ(woke_b, 0);
    b.store(1);
    balrog::atomic_notify_all(b);
    for (auto& f : fibers) f.join();
    EXPECT_EQ(woke_b, 1);
  });
}

TEST(AtomicWait, AtomicFlagWaitOnAFiber) {
  balrog::run([] {
    std::atomic_flag flag;
    bool woke = false;
    auto waiter = balrog::spawn([&] {
      balrog::atomic_wait(&flag, false);
      woke = true;
    });
    let_fibers_run();
    EXPECT_FALSE(woke);
    flag.test_and_set();
    balrog::atomic_flag_notify_one(&flag);
    waiter.join();
    EXPECT_TRUE(woke);
  });
}

TEST(AtomicWait, CancellingTheWaitingFiberThrowsCancelled) {
  balrog::run([] {
    std::atomic<int> value{0};
    auto waiter = balrog::spawn([&] { balrog::atomic_wait(value, 0); });
    let_fibers_run();
    waiter.cancel();
    EXPECT_THROW(waiter.join(), balrog::cancelled);
  });
}

TEST(AtomicWait, FiberWokenByAPlainThread) {
  std::atomic<int> value{0};
  std::atomic<bool> parked{false};
  auto shard = balrog_test::run_on_thread([&] {
    parked.store(true);
    balrog::atomic_wait(value, 0);
    return value.load();
  });
  while (!parked.load()) std::this_thread::yield();
  balrog_test::give_thread_time_to_park();
  value.store(42);
  balrog::atomic_notify_all(value);
  EXPECT_EQ(shard.get(), 42);
}

TEST(AtomicWait, PlainThreadWokenByAFiber) {
  std::atomic<int> value{0};
  std::thread waiter([&] { balrog::atomic_wait(value, 0); });  // std's wait, off the runtime
  balrog_test::give_thread_time_to_park();
  balrog::run([&] {
    value.store(1);
    balrog::atomic_notify_one(value);
  });
  waiter.join();
  EXPECT_EQ(value.load(), 1);
}

TEST(AtomicWait, ManyRoundsBetweenTwoShards) {
  std::atomic<int> turn{0};
  constexpr int rounds = 200;
  auto player = [&](int me) {
    return balrog_test::run_on_thread([&turn, me] {
      for (int i = 0; i < rounds; ++i) {
        for (int seen = turn.load(); seen % 2 != me; seen = turn.load()) {
          balrog::atomic_wait(turn, seen);
        }
        turn.fetch_add(1);
        balrog::atomic_notify_all(turn);
      }
    });
  };
  auto a = player(0);
  auto b = player(1);
  a.get();
  b.get();
  EXPECT_EQ(turn.load(), 2 * rounds);
}

}  // namespace
