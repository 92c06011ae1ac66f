// balrog::thread, balrog::jthread, balrog::this_thread::get_id (balrog/thread.hpp).
#include "balrog/thread.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <vector>

#include "balrog/run.hpp"
#include "balrog/sync/condition_variable.hpp"
#include "balrog/sync/mutex.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using balrog_test::stopwatch;

TEST(Thread, OnAFiberItIsAFiberOfTheSameOsThread) {
  balrog::run([] {
    const auto os = std::this_thread::get_id();
    std::thread::id seen_os;
    balrog::thread::id seen;
    balrog::thread t([&] {
      seen_os = std::this_thread::get_id();
      seen = balrog::this_thread::get_id();
    });
    EXPECT_TRUE(t.joinable());
    EXPECT_TRUE(t.is_fiber());
    const balrog::thread::id id = t.get_id();
    EXPECT_TRUE(id.is_fiber());
    EXPECT_NE(id, balrog::this_thread::get_id());
    t.join();
    EXPECT_FALSE(t.joinable());
    EXPECT_EQ(t.get_id(), balrog::thread::id{});
    EXPECT_EQ(seen_os, os);
    EXPECT_EQ(seen, id);
  });
}

TEST(Thread, PassesArgumentsByDecayCopyAndMovesMoveOnlyOnes) {
  balrog::run([] {
    int out = 0;
    std::string kept = "abc";
    balrog::thread t([&out](int a, std::string s,
                            std::unique_ptr<int> p) { out = a + static_cast<int>(s.size()) + *p; },
                     1, kept, std::make_unique<int>(10));
    t.join();
    EXPECT_EQ(out, 14);
    EXPECT_EQ(kept, "abc");
  });
}

TEST(Thread, ManyFiberThreadsSleepConcurrentlyOnOneShard) {
  balrog::run([] {
    stopwatch clock;
    std::vector<balrog::thread> pool;
    std::atomic<int> done{0};
    for (int i = 0; i < 100; ++i) {
      pool.emplace_back([&] {
        balrog::this_fiber::sleep_for(50ms);
        ++done;
      });
    }
    for (auto& t : pool) t.join();
    EXPECT_EQ(done, 100);
    EXPECT_LT(clock.elapsed(), 2s);  // 100 x 50 ms in sequence would be 5 s
  });
}

TEST(Thread, WorkerPoolOnBalrogConditionVariable) {
  balrog::run([] {
    balrog::mutex m;
    balrog::condition_variable cv;
    std::vector<int> queue;
    bool stop = false;
    int sum = 0;
    std::vector<balrog::thread> workers;
    for (int i = 0; i < 4; ++i) {
      workers.emplace_back([&] {
        std::unique_lock lk(m);
        for (;;) {
          cv.wait(lk, [&] { return stop || !queue.empty(); });
          if (queue.empty()) return;
          sum += queue.back();
          queue.pop_back();
        }
      });
    }
    for (int i = 1; i <= 100; ++i) {
      std::lock_guard lk(m);
      queue.push_back(i);
      cv.notify_one();
    }
    {
      std::lock_guard lk(m);
      stop = true;
    }
    cv.notify_all();
    for (auto& w : workers) w.join();
    EXPECT_EQ(sum, 5050);
  });
}

TEST(Thread, OffRuntimeItIsAnOsThread) {
  std::thread::id seen_os;
  balrog::thread::id seen;
  balrog::thread t([&] {
    seen_os = std::this_thread::get_id();
    seen = balrog::this_thread::get_id();
  });
  EXPECT_FALSE(t.is_fiber());
  const auto id = t.get_id();
  EXPECT_FALSE(id.is_fiber());
  t.join();
  EXPECT_NE(seen_os, std::this_thread::get_id());
  EXPECT_EQ(seen.os_thread(), seen_os);
  EXPECT_EQ(seen, id);
}

TEST(Thread, DetachLetsItRun) {
  balrog::run([] {
    std::atomic<bool> ran{false};
    balrog::thread t([&] { ran = true; });
    t.detach();
    EXPECT_FALSE(t.joinable());
    EXPECT_TRUE(balrog_test::spin_until([&] { return ran.load(); }));
  });
}

TEST(Thread, JoinOrDetachWhenNotJoinableThrowsSystemError) {
  balrog::thread t;
  EXPECT_FALSE(t.joinable());
  EXPECT_THROW(t.join(), std::system_error);
  EXPECT_THROW(t.detach(), std::system_error);
}

TEST(Thread, SwapAndMove) {
  balrog::run([] {
    balrog::thread a([] {});
    balrog::thread b;
    const auto id = a.get_id();
    swap(a, b);
    EXPECT_FALSE(a.joinable());
    EXPECT_EQ(b.get_id(), id);
    balrog::thread c(std::move(b));
    EXPECT_FALSE(b.joinable());
    EXPECT_EQ(c.get_id(), id);
    c.join();
  });
}

TEST(Thread, HardwareConcurrencyIsStd) {
  EXPECT_EQ(balrog::thread::hardware_concurrency(), std::thread::hardware_concurrency());
  EXPECT_EQ(balrog::jthread::hardware_concurrency(), std::thread::hardware_concurrency());
}

TEST(Thread, ExceptionEscapingTheFunctionTerminates) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run([] {
                 balrog::thread t([] { throw std::runtime_error("boom"); });
                 t.join();
               }),
               "exception escaped the function of fiber-[0-9]+: boom");
}

TEST(Thread, DestroyingAJoinableThreadTerminates) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run([] { balrog::thread t([] {}); }), "");
}

TEST(ThreadId, ComparesHashesAndPrints) {
  balrog::run([] {
    const auto self = balrog::this_thread::get_id();
    EXPECT_TRUE(self.is_fiber());
    EXPECT_EQ(self, balrog::this_thread::get_id());
    EXPECT_EQ(self.fiber(), balrog::this_fiber::id());
    balrog::thread::id other;
    balrog::thread t([&] { other = balrog::this_thread::get_id(); });
    t.join();
    EXPECT_NE(self, other);
    EXPECT_TRUE(self < other || other < self);
    std::unordered_set<balrog::thread::id> ids{self, other, self};
    EXPECT_EQ(ids.size(), 2u);
    std::ostringstream os;
    os << self;
    EXPECT_EQ(os.str(), "fiber-" + std::to_string(self.fiber().value()));
  });
  std::ostringstream os, expected;
  os << balrog::this_thread::get_id() << ' ' << balrog::thread::id{};
  expected << std::this_thread::get_id() << ' ' << std::thread::id{};
  EXPECT_EQ(os.str(), expected.str());
}

TEST(JThread, PassesAStopTokenAndStopsOnDestruction) {
  balrog::run([] {
    std::atomic<int> rounds{0};
    {
      balrog::jthread t(
          [&](std::stop_token st, int step) {
            while (!st.stop_requested()) {
              rounds += step;
              balrog::this_fiber::sleep_for(1ms);
            }
          },
          1);
      EXPECT_TRUE(t.is_fiber());
      balrog::this_fiber::sleep_for(10ms);
    }  // request_stop + join
    const int seen = rounds;
    EXPECT_GT(seen, 0);
    balrog::this_fiber::sleep_for(5ms);
    EXPECT_EQ(rounds, seen);
  });
}

TEST(JThread, RequestStopAndFunctionsWithoutToken) {
  balrog::run([] {
    balrog::jthread t([] {});
    EXPECT_TRUE(t.get_stop_token().stop_possible());
    EXPECT_TRUE(t.request_stop());
    EXPECT_TRUE(t.get_stop_source().stop_requested());
    t.join();
    balrog::jthread empty;
    EXPECT_FALSE(empty.joinable());
    EXPECT_FALSE(empty.get_stop_token().stop_possible());
  });
}

TEST(JThread, OffRuntimeItIsAnOsThread) {
  std::atomic<bool> stopped{false};
  {
    balrog::jthread t([&](std::stop_token st) {
      while (!st.stop_requested()) std::this_thread::sleep_for(1ms);
      stopped = true;
    });
    EXPECT_FALSE(t.is_fiber());
  }
  EXPECT_TRUE(stopped);
}

}  // namespace
