// Sleeps and timers: ordering, precision, many sleepers.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "balrog/run.hpp"
#include "balrog/sync/semaphore.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

TEST(Timers, FireInDeadlineOrder) {
  // One base for every deadline, taken before the first spawn: with sleep_for, each fiber's
  // deadline counted from when that fiber first ran, so a fiber started 20 ms late (TSan on a
  // loaded machine) really had the later deadline. The base is far enough ahead that all five
  // timers are armed before the first is due, even under TSan: a deadline already past when
  // its fiber gets to it is a yield, not a timer, and is not what this test is about.
  std::vector<int> order;
  int armed_late = 0;
  balrog::run([&] {
    const auto base = balrog::clock::now() + 300ms;
    std::vector<balrog::fiber<void>> fs;
    for (int ms : {40, 10, 30, 0, 20}) {
      fs.push_back(balrog::spawn([ms, base, &order, &armed_late] {
        const auto when = base + std::chrono::milliseconds(ms);
        if (balrog::clock::now() >= when) ++armed_late;
        balrog::this_fiber::sleep_until(when);
        order.push_back(ms);
      }));
    }
    for (auto& f : fs) f.join();
  });
  ASSERT_EQ(armed_late, 0) << "a fiber reached its sleep after its deadline: the machine "
                              "stalled this thread for more than 300 ms";
  EXPECT_EQ(order, (std::vector<int>{0, 10, 20, 30, 40}));
}

TEST(Timers, EqualDeadlinesFireInArmingOrder) {
  std::vector<int> order;
  balrog::run([&] {
    // Every fiber starts (and yields) before the deadline is set: a fiber's first switch is
    // slow under sanitizers (TSan creates its fiber state then, ~5 ms each on a slow VM), and
    // 50 of them must not eat the 300 ms. The ready queue is FIFO, so main sets `when` before
    // any fiber reads it, and the fibers arm their sleeps in spawn order.
    balrog::clock::time_point when{};
    std::vector<balrog::fiber<void>> fs;
    for (int i = 0; i < 50; ++i) {
      fs.push_back(balrog::spawn([i, &when, &order] {
        balrog::this_fiber::yield();
        balrog::this_fiber::sleep_until(when);
        order.push_back(i);
      }));
    }
    balrog::this_fiber::yield();
    when = balrog::clock::now() + 300ms;  // far enough ahead that every fiber is asleep first
    for (auto& f : fs) f.join();
  });
  ASSERT_EQ(order.size(), 50U);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

TEST(Timers, SleepLastsAtLeastTheRequestedTime) {
  balrog::run([] {
    for (auto d : {1ms, 5ms, 15ms}) {
      const auto start = balrog::clock::now();
      balrog::this_fiber::sleep_for(d);
      EXPECT_GE(balrog::clock::now() - start, d);
    }
  });
}

TEST(Timers, SleepInSyncModeBlocksTheThread) {
  const auto start = balrog::clock::now();
  balrog::this_fiber::sleep_for(10ms);
  EXPECT_GE(balrog::clock::now() - start, 10ms);
}

TEST(Timers, ZeroAndNegativeSleepsYield) {
  balrog::run([] {
    bool other_ran = false;
    auto f = balrog::spawn([&] { other_ran = true; });
    balrog::this_fiber::sleep_for(-5ms);
    EXPECT_TRUE(other_ran);
    balrog::this_fiber::sleep_for(0ms);
    f.join();
  });
}

TEST(Timers, AHundredThousandSleepingFibers) {
#if defined(BALROG_TSAN)
  // Each live fiber is a TSan fiber, and TSan counts a fiber as a thread: it dies past 8128
  // ("ThreadSanitizer: Thread limit (8128 threads) exceeded"), a TSan limit, not balrog's.
  GTEST_SKIP() << "TSan allows at most 8128 live threads and fibers; this test keeps 100,000 "
                  "fibers alive (docs/debugging.md, ThreadSanitizer)";
#endif
  constexpr int n = 100'000;
  const int woke = balrog::run([] {
    int count = 0;
    std::vector<balrog::fiber<void>> fs;
    fs.reserve(n);
    const auto until = balrog::clock::now() + 200ms;
    for (int i = 0; i < n; ++i) {
      fs.push_back(balrog::spawn(
          [&count, until, i] {
            // Spread the deadlines so the heap really orders them.
            balrog::this_fiber::sleep_until(until - std::chrono::microseconds(i % 1000));
            ++count;
          },
          {.stack = balrog::stack_kind::dense}));
    }
    for (auto& f : fs) f.join();
    return count;
  });
  EXPECT_EQ(woke, n);
}

// Deadlines that never fire, armed and cancelled a hundred thousand times (every wait with a
// deadline that ends early): each is cancelled, none fires, nothing is left armed.
TEST(Timers, AHundredThousandDeadlinesArmedAndCancelled) {
  static constexpr int n = 100'000;
  balrog::run([] {
    balrog::semaphore ready(0);
    balrog::semaphore taken(0);
    int acquired = 0;
    auto waiter = balrog::spawn([&] {
      for (int i = 0; i < n; ++i) {
        if (ready.try_acquire_for(1h)) ++acquired;  // waits (a deadline armed), then handed one
        taken.release();
      }
    });
    for (int i = 0; i < n; ++i) {
      ready.release();
      EXPECT_TRUE(taken.try_acquire_for(1h));
    }
    waiter.join();
    EXPECT_EQ(acquired, n);
  });
}
