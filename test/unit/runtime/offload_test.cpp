// balrog::offload (balrog/offload.hpp).
#include "balrog/offload.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
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
using balrog_test::let_fibers_run;
using balrog_test::run_on_thread;
using balrog_test::spin_until;
using balrog_test::stopwatch;

struct custom_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Shared state for jobs that outlive their caller's wait: captured by value, so the job never
// touches the (possibly unwound) caller's stack.
struct job_flags {
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
};

// A job that waits until released (or a generous limit passes), then marks itself finished.
auto gated_job(std::shared_ptr<job_flags> flags) {
  return [flags] {
    flags->started = true;
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!flags->release && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(1ms);
    }
    flags->finished = true;
    return 1;
  };
}

bool wait_for_flag(const std::atomic<bool>& flag) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!flag && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  return flag;
}

// ---- results --------------------------------------------------------------------------------

TEST(Offload, ReturnsTheValue) {
  balrog::run([] {
    EXPECT_EQ(balrog::offload([] { return 42; }), 42);
    EXPECT_EQ(balrog::offload([] { return std::string("hello"); }), "hello");
    auto p = balrog::offload([] { return std::make_unique<int>(7); });  // move-only result
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 7);
    auto out = std::make_shared<std::atomic<int>>(0);
    balrog::offload([out] { *out = 5; });  // void
    EXPECT_EQ(out->load(), 5);
  });
}

TEST(Offload, RunsOnAnotherThread) {
  balrog::run([] {
    const auto here = std::this_thread::get_id();
    EXPECT_NE(balrog::offload([] { return std::this_thread::get_id(); }), here);
  });
}

TEST(Offload, MovesMoveOnlyCallable) {
  balrog::run([] {
    auto owned = std::make_unique<int>(9);
    EXPECT_EQ(balrog::offload([p = std::move(owned)] { return *p * 2; }), 18);
  });
}

TEST(Offload, PropagatesExceptions) {
  balrog::run([] {
    EXPECT_THROW(balrog::offload([]() -> int { throw custom_error("boom"); }), custom_error);
    try {
      balrog::offload([] { throw std::invalid_argument("bad arg"); });
      ADD_FAILURE() << "expected an exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "bad arg");
    }
    // A balrog error thrown by the job is the job's, not a wait failure.
    EXPECT_THROW(balrog::offload([] { throw balrog::timeout_error(); }), balrog::timeout_error);
    // The fiber is fine afterwards.
    EXPECT_EQ(balrog::offload([] { return 1; }), 1);
  });
}

// ---- concurrency ----------------------------------------------------------------------------

TEST(Offload, OtherFibersKeepRunning) {
  balrog::run([] {
    std::atomic<bool> offload_done{false};
    int ticks_during = 0;
    auto ticker = balrog::spawn([&] {
      while (!offload_done) {
        ++ticks_during;
        balrog::this_fiber::sleep_for(5ms);
      }
    });
    stopwatch sw;
    balrog::offload([] { std::this_thread::sleep_for(100ms); });
    offload_done = true;
    EXPECT_GE(sw.elapsed(), 95ms);
    ticker.join();
    // ~20 ticks if nothing blocks the shard; 1 if the offload blocked it.
    EXPECT_GE(ticks_during, 5);
  });
}

TEST(Offload, ManyConcurrentOffloadsOverlap) {
  stopwatch sw;
  balrog::run([] {
    std::vector<balrog::fiber<int>> fibers;
    for (int i = 0; i < 100; ++i) {
      fibers.push_back(balrog::spawn([i] {
        return balrog::offload([i] {
          std::this_thread::sleep_for(40ms);
          return i;
        });
      }));
    }
    int sum = 0;
    for (auto& f : fibers) sum += f.join();
    EXPECT_EQ(sum, 99 * 100 / 2);
  });
  EXPECT_LT(sw.elapsed(), 2s);  // serially: 4 s
}

TEST(Offload, FromTwoShards) {
  auto shard = [] {
    std::vector<balrog::fiber<int>> fibers;
    for (int i = 0; i < 10; ++i) {
      fibers.push_back(balrog::spawn([] {
        return balrog::offload([] {
          std::this_thread::sleep_for(5ms);
          return 1;
        });
      }));
    }
    int n = 0;
    for (auto& f : fibers) n += f.join();
    return n;
  };
  auto a = run_on_thread(shard);
  auto b = run_on_thread(shard);
  EXPECT_EQ(a.get(), 10);
  EXPECT_EQ(b.get(), 10);
}

// ---- cancellation and deadlines ------------------------------------------------------------

TEST(Offload, CancelInterruptsTheWaitJobFinishesInBackground) {
  auto flags = std::make_shared<job_flags>();
  balrog::run([flags] {
    auto f = balrog::spawn([flags] { return balrog::offload(gated_job(flags)); });
    ASSERT_TRUE(spin_until([&] { return flags->started.load(); }));
    stopwatch sw;
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
    EXPECT_LT(sw.elapsed(), 1s);
    EXPECT_FALSE(flags->finished.load());  // still running on the pool
  });
  flags->release = true;
  EXPECT_TRUE(wait_for_flag(flags->finished));
}

TEST(Offload, CancellationIsStickyAndShieldLetsItComplete) {
  auto flags = std::make_shared<job_flags>();
  balrog::run([flags] {
    int thrown = 0;
    int shielded_result = 0;
    auto f = balrog::spawn([&, flags] {
      try {
        balrog::offload(gated_job(flags));
      } catch (const balrog::cancelled&) {
        ++thrown;
      }
      try {
        balrog::offload([] { return 0; });
      } catch (const balrog::cancelled&) {
        ++thrown;
      }
      balrog::this_fiber::cancellation_shield shield;
      shielded_result = balrog::offload([] {
        std::this_thread::sleep_for(10ms);
        return 3;
      });
    });
    ASSERT_TRUE(spin_until([&] { return flags->started.load(); }));
    f.cancel();
    f.join();
    EXPECT_EQ(thrown, 2);
    EXPECT_EQ(shielded_result, 3);
  });
  flags->release = true;
  EXPECT_TRUE(wait_for_flag(flags->finished));
}

TEST(Offload, DeadlineScopeInterruptsTheWait) {
  auto flags = std::make_shared<job_flags>();
  balrog::run([flags] {
    stopwatch sw;
    {
      balrog::deadline_scope scope(30ms);
      EXPECT_THROW(balrog::offload(gated_job(flags)), balrog::timeout_error);
    }
    EXPECT_GE(sw.elapsed(), 25ms);
    EXPECT_LT(sw.elapsed(), 2s);
    EXPECT_FALSE(flags->finished.load());
    // The fiber can offload again at once.
    EXPECT_EQ(balrog::offload([] { return 2; }), 2);
  });
  flags->release = true;
  EXPECT_TRUE(wait_for_flag(flags->finished));
}

TEST(Offload, DeadlineScopeLongerThanTheJobDoesNotThrow) {
  balrog::run([] {
    balrog::deadline_scope scope(10s);
    EXPECT_EQ(balrog::offload([] {
                std::this_thread::sleep_for(5ms);
                return 4;
              }),
              4);
  });
}

// ---- sync mode ------------------------------------------------------------------------------

TEST(Offload, SyncModeFromAPlainThread) {
  std::thread t([] {
    EXPECT_EQ(balrog::offload([] { return 6; }), 6);
    EXPECT_NE(balrog::offload([] { return std::this_thread::get_id(); }),
              std::this_thread::get_id());
    EXPECT_THROW(balrog::offload([]() -> int { throw custom_error("x"); }), custom_error);
  });
  t.join();
  // And from the test's own thread.
  stopwatch sw;
  balrog::offload([] { std::this_thread::sleep_for(20ms); });
  EXPECT_GE(sw.elapsed(), 15ms);
}

TEST(Offload, SyncModeDeadlineScope) {
  auto flags = std::make_shared<job_flags>();
  {
    balrog::deadline_scope scope(30ms);
    stopwatch sw;
    EXPECT_THROW(balrog::offload(gated_job(flags)), balrog::timeout_error);
    EXPECT_LT(sw.elapsed(), 2s);
  }
  flags->release = true;
  EXPECT_TRUE(wait_for_flag(flags->finished));
}

}  // namespace
