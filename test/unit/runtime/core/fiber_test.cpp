// Fibers: run, spawn, join, detach, ordering, handles, misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/run.hpp"
#include "balrog/runtime.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/sync/semaphore.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

TEST(Run, ReturnsTheValueOfTheMainFunction) {
  EXPECT_EQ(balrog::run([] { return 42; }), 42);
}

TEST(Run, RethrowsTheExceptionOfTheMainFunction) {
  EXPECT_THROW(balrog::run([] { throw std::runtime_error("boom"); }), std::runtime_error);
}

TEST(Run, RunsTheMainFunctionOnANamedFiber) {
  auto [id, name] = balrog::run([] {
    return std::pair{balrog::this_fiber::id(), std::string(balrog::this_fiber::name())};
  });
  EXPECT_TRUE(id);
  EXPECT_EQ(name, "main");
}

TEST(Run, NestedRunIsAUsageError) {
  balrog::run([] { EXPECT_THROW(balrog::run([] {}), balrog::usage_error); });
}

TEST(Run, IsUsableAgainAfterItReturns) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(balrog::run([i] { return i; }), i);
}

TEST(Run, ThreadsRunIndependentSchedulers) {
  std::vector<std::thread> threads;
  std::vector<int> results(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &results] {
      results[static_cast<std::size_t>(t)] = balrog::run([t] {
        int sum = 0;
        std::vector<balrog::fiber<int>> fs;
        for (int i = 0; i < 100; ++i)
          fs.push_back(balrog::spawn([i] {
            balrog::this_fiber::yield();
            return i;
          }));
        for (auto& f : fs) sum += f.join();
        return sum + t;
      });
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(results[static_cast<std::size_t>(t)], 4950 + t);
}

TEST(Run, WaitsForNonDetachedFibersWhoseHandlesOutliveMain) {
  std::vector<int> order;
  balrog::fiber<void> kept;
  balrog::run([&] {
    kept = balrog::spawn([&] {
      balrog::this_fiber::sleep_for(10ms);
      order.push_back(2);
    });
    order.push_back(1);
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_TRUE(kept.done());
  kept.join();
}

TEST(Run, CancelsDetachedFibersWhenEverythingElseFinished) {
  bool unwound = false;
  balrog::run([&] {
    balrog::spawn([&] {
      struct marker {
        bool& flag;
        ~marker() { flag = true; }
      } m{unwound};
      for (;;) balrog::this_fiber::sleep_for(1h);
    }).detach();
    balrog::this_fiber::yield();  // let it start sleeping
  });
  EXPECT_TRUE(unwound);
}

TEST(Spawn, OutsideRunIsAUsageError) {
  EXPECT_THROW(balrog::spawn([] {}), balrog::usage_error);
}

TEST(Spawn, DoesNotSwitchUntilTheSpawnerSuspends) {
  balrog::run([] {
    bool ran = false;
    auto f = balrog::spawn([&] { ran = true; });
    EXPECT_FALSE(ran);
    balrog::this_fiber::yield();
    EXPECT_TRUE(ran);
    f.join();
  });
}

TEST(Spawn, NamesAndIdsAreDistinct) {
  balrog::run([] {
    auto a =
        balrog::spawn([] { return std::string(balrog::this_fiber::name()); }, {.name = "alpha"});
    auto b = balrog::spawn([] { return std::string(balrog::this_fiber::name()); });
    EXPECT_NE(a.id(), b.id());
    EXPECT_EQ(a.name(), "alpha");
    EXPECT_EQ(a.join(), "alpha");
    EXPECT_EQ(b.join().rfind("fiber-", 0), 0U);
  });
}

TEST(Join, ReturnsValuesAndMoveOnlyValues) {
  balrog::run([] {
    auto f = balrog::spawn([] { return std::make_unique<int>(5); });
    EXPECT_EQ(*f.join(), 5);
  });
}

TEST(Join, RethrowsTheFibersException) {
  balrog::run([] {
    auto f = balrog::spawn([]() -> int { throw std::invalid_argument("bad"); });
    try {
      f.join();
      FAIL() << "join did not throw";
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "bad");
    }
  });
}

TEST(Join, TwiceOrAfterDetachIsAUsageError) {
  balrog::run([] {
    auto f = balrog::spawn([] {});
    f.join();
    EXPECT_FALSE(f.joinable());
    EXPECT_THROW(f.join(), balrog::usage_error);
    auto g = balrog::spawn([] {});
    g.detach();
    EXPECT_THROW(g.join(), balrog::usage_error);
    EXPECT_THROW(g.detach(), balrog::usage_error);
    EXPECT_THROW(g.cancel(), balrog::usage_error);
  });
}

TEST(Join, OfAFinishedFiberDoesNotSuspend) {
  balrog::run([] {
    auto f = balrog::spawn([] { return 3; });
    balrog::this_fiber::yield();
    EXPECT_TRUE(f.done());
    EXPECT_EQ(f.join(), 3);
  });
}

TEST(Join, FromAPlainThreadBlocksUntilTheFiberFinishes) {
  balrog::fiber<int> handle;
  balrog::event handed_over;
  std::thread joiner([&] {
    handed_over.wait();  // sync mode: blocks this thread
    EXPECT_EQ(handle.join(), 9);
  });
  balrog::run([&] {
    handle = balrog::spawn([] {
      balrog::this_fiber::sleep_for(20ms);
      return 9;
    });
    handed_over.set();
  });
  joiner.join();
}

TEST(Handle, DestructorCancelsAndJoins) {
  bool cancelled_seen = false;
  balrog::run([&] {
    {
      auto f = balrog::spawn([&] {
        try {
          balrog::this_fiber::sleep_for(1h);
        } catch (const balrog::cancelled&) {
          cancelled_seen = true;
          throw;
        }
      });
      balrog::this_fiber::yield();
    }  // ~fiber: cancel + join
    EXPECT_TRUE(cancelled_seen);
  });
}

TEST(Handle, MoveAssignmentOntoAJoinableHandleCancelsTheOldFiber) {
  balrog::run([] {
    bool old_cancelled = false;
    auto f = balrog::spawn([&] {
      try {
        balrog::this_fiber::sleep_for(1h);
      } catch (const balrog::cancelled&) {
        old_cancelled = true;
        throw;
      }
      return 0;
    });
    balrog::this_fiber::yield();
    f = balrog::spawn([] { return 2; });
    EXPECT_TRUE(old_cancelled);  // the old fiber was cancelled and joined by the assignment
    EXPECT_EQ(f.join(), 2);
  });
}

TEST(Scheduling, YieldIsRoundRobin) {
  std::string trace;
  balrog::run([&] {
    std::vector<balrog::fiber<void>> fs;
    for (char c : std::string("abc")) {
      fs.push_back(balrog::spawn([c, &trace] {
        for (int i = 0; i < 3; ++i) {
          trace.push_back(c);
          balrog::this_fiber::yield();
        }
      }));
    }
    for (auto& f : fs) f.join();
  });
  EXPECT_EQ(trace, "abcabcabc");
}

TEST(Scheduling, ABusyYielderDoesNotStarveTimers) {
  balrog::run([] {
    bool stop = false;
    auto spinner = balrog::spawn([&] {
      while (!stop) balrog::this_fiber::yield();
    });
    const auto start = balrog::clock::now();
    balrog::this_fiber::sleep_for(20ms);
    EXPECT_LT(balrog::clock::now() - start, 1s);
    stop = true;
    spinner.join();
  });
}

TEST(Scheduling, ManyFibersFinish) {
  const long sum = balrog::run([] {
    std::vector<balrog::fiber<long>> fs;
    for (long i = 0; i < 10'000; ++i) fs.push_back(balrog::spawn([i] { return i; }));
    long s = 0;
    for (auto& f : fs) s += f.join();
    return s;
  });
  EXPECT_EQ(sum, 10'000L * 9'999 / 2);
}

TEST(ThisFiber, OffFiberIdIsEmptyAndNameIsEmpty) {
  EXPECT_FALSE(balrog::this_fiber::id());
  EXPECT_TRUE(balrog::this_fiber::name().empty());
  balrog::this_fiber::yield();  // sync mode: yields the thread, does not throw
}

using DetachedDeathTest = testing::Test;

TEST(DetachedDeathTest, AnUnhandledExceptionInADetachedFiberEndsTheProcessNamingIt) {
  EXPECT_DEATH(
      balrog::run([] {
        balrog::spawn([] { throw std::runtime_error("lost"); }, {.name = "orphan"}).detach();
        balrog::this_fiber::yield();
      }),
      "fiber 'orphan' .* unhandled exception: lost");
}

// Review finding J: a plain thread that wakes a fiber (or lets go of its handle) just as a
// standalone balrog::run ends must not touch the scheduler after the loop could see its work:
// the loop finishes and destroys the scheduler at once (ASan/TSan see a late touch).
TEST(Fiber, WakersOnPlainThreadsDoNotTouchTheSchedulerAfterPublishing) {
  for (int i = 0; i < 300; ++i) {
    std::thread waker;
    balrog::event e;  // outlives run(): only the scheduler's lifetime is under test
    balrog::run([&] {
      waker = std::thread([&e] { e.set(); });
      e.wait();  // woken from the plain thread; run() ends right after
    });
    waker.join();
    std::thread dropper;
    balrog::run([&] {
      auto f = balrog::spawn([] { balrog::this_fiber::yield(); });
      dropper = std::thread([h = std::move(f)]() mutable { h.detach(); });
    });
    dropper.join();
  }
}

// The remote queue under load: plain threads wake fibers (semaphore releases) and cancel
// others, all at once, while the shard keeps going to sleep in poll and being woken.
TEST(Fiber, StressManyForeignThreadsWakeFibers) {
  constexpr int wakers = 8;
  constexpr int fibers = 64;
  constexpr int rounds = 200;
  constexpr int sleepers = 16;
  std::vector<std::unique_ptr<balrog::semaphore>> sems;
  for (int i = 0; i < fibers; ++i) sems.push_back(std::make_unique<balrog::semaphore>(0));
  std::vector<balrog::fiber<void>> asleep(sleepers);
  balrog::event go;
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < wakers; ++t) {
    threads.emplace_back([&, t] {
      go.wait();
      for (int r = 0; r < rounds; ++r) {
        for (int i = t; i < fibers; i += wakers) sems[static_cast<std::size_t>(i)]->release();
        if (r % 16 == 0) std::this_thread::yield();
      }
      for (int i = t; i < sleepers; i += wakers) asleep[static_cast<std::size_t>(i)].cancel();
    });
  }
  balrog::run([&] {
    for (auto& f : asleep) f = balrog::spawn([] { balrog::this_fiber::sleep_for(1h); });
    std::vector<balrog::fiber<void>> fs;
    for (int i = 0; i < fibers; ++i) {
      fs.push_back(balrog::spawn([&, i] {
        for (int r = 0; r < rounds; ++r) {
          sems[static_cast<std::size_t>(i)]->acquire();
          woken.fetch_add(1, std::memory_order_relaxed);
        }
      }));
    }
    go.set();
    for (auto& f : fs) f.join();
    for (auto& f : asleep) EXPECT_THROW(f.join(), balrog::cancelled);
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(woken.load(), fibers * rounds);
}

// spawn_on in bulk while the target shard is busy being woken from the other one: every
// adoption arrives, runs and is joined across shards.
TEST(Fiber, StressSpawnOnAndCrossShardWakes) {
  balrog::runtime rt({.threads = 2});
  const long total = rt.run([] {
    balrog::semaphore ping(0);
    std::vector<balrog::fiber<long>> spawners;
    for (int s = 0; s < 4; ++s) {
      spawners.push_back(balrog::spawn([&ping, s] {
        long sum = 0;
        std::vector<balrog::fiber<long>> remote;
        for (int i = 0; i < 100; ++i) {
          remote.push_back(balrog::spawn_on(1, [&ping, i, s] {
            ping.release();  // wakes a fiber of shard 0 from shard 1
            balrog::this_fiber::yield();
            return static_cast<long>(s * 1000 + i);
          }));
        }
        for (auto& f : remote) sum += f.join();
        return sum;
      }));
    }
    auto pinged = balrog::spawn([&ping] {
      for (int i = 0; i < 400; ++i) ping.acquire();
    });
    long sum = 0;
    for (auto& f : spawners) sum += f.join();
    pinged.join();
    return sum;
  });
  long expected = 0;
  for (int s = 0; s < 4; ++s) {
    for (int i = 0; i < 100; ++i) expected += s * 1000 + i;
  }
  EXPECT_EQ(total, expected);
}
