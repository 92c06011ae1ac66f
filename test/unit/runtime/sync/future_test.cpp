// balrog/future.hpp: the std::future/shared_future/promise/packaged_task/async twins.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/future.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using balrog_test::let_fibers_run;

std::future_errc code_of(const std::future_error& e) {
  return static_cast<std::future_errc>(e.code().value());
}

TEST(Future, GetSuspendsUntilAnotherFiberOfTheShardSetsTheValue) {
  balrog::run([] {
    balrog::promise<std::string> p;
    balrog::future<std::string> f = p.get_future();
    bool got = false;
    auto reader = balrog::spawn([&] {
      EXPECT_EQ(f.get(), "hello");
      got = true;
      EXPECT_FALSE(f.valid());
    });
    let_fibers_run();
    EXPECT_FALSE(got);  // the reader suspended; std::future::get would have hung the shard
    p.set_value("hello");
    reader.join();
    EXPECT_TRUE(got);
  });
}

TEST(Future, ExceptionsVoidAndReferences) {
  balrog::run([] {
    balrog::promise<int> p;
    auto f = p.get_future();
    p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    EXPECT_THROW(f.get(), std::runtime_error);
    EXPECT_FALSE(f.valid());

    balrog::promise<void> pv;
    auto fv = pv.get_future();
    pv.set_value();
    fv.get();

    int x = 1;
    balrog::promise<int&> pr;
    auto fr = pr.get_future();
    pr.set_value(x);
    fr.get() = 5;
    EXPECT_EQ(x, 5);

    balrog::promise<std::unique_ptr<int>> pm;  // move-only values
    auto fm = pm.get_future();
    pm.set_value(std::make_unique<int>(3));
    EXPECT_EQ(*fm.get(), 3);
  });
}

TEST(Future, StdErrorCodes) {
  balrog::run([] {
    balrog::future<int> broken;
    {
      balrog::promise<int> p;
      broken = p.get_future();
      try {
        (void)p.get_future();
        ADD_FAILURE();
      } catch (const std::future_error& e) {
        EXPECT_EQ(code_of(e), std::future_errc::future_already_retrieved);
      }
      p.set_value(1);
      try {
        p.set_value(2);
        ADD_FAILURE();
      } catch (const std::future_error& e) {
        EXPECT_EQ(code_of(e), std::future_errc::promise_already_satisfied);
      }
    }
    EXPECT_EQ(broken.get(), 1);
    {
      balrog::promise<int> p;
      broken = p.get_future();
    }  // destroyed unsatisfied
    try {
      broken.get();
      ADD_FAILURE();
    } catch (const std::future_error& e) {
      EXPECT_EQ(code_of(e), std::future_errc::broken_promise);
    }
    balrog::future<int> none;
    EXPECT_FALSE(none.valid());
    try {
      none.wait();
      ADD_FAILURE();
    } catch (const std::future_error& e) {
      EXPECT_EQ(code_of(e), std::future_errc::no_state);
    }
  });
}

TEST(Future, WaitForTimesOutThenBecomesReady) {
  balrog::run([] {
    balrog::promise<int> p;
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(5ms), std::future_status::timeout);
    EXPECT_EQ(f.wait_until(std::chrono::steady_clock::now() + 1ms), std::future_status::timeout);
    auto setter = balrog::spawn([&] {
      balrog::this_fiber::sleep_for(2ms);
      p.set_value(9);
    });
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    f.wait();
    EXPECT_EQ(f.get(), 9);
    setter.join();
  });
}

TEST(Future, CancellingAWaitingFiberThrowsCancelled) {
  balrog::run([] {
    balrog::promise<int> p;
    auto f = p.get_future();
    auto waiter = balrog::spawn([&] { (void)f.get(); });
    let_fibers_run();
    waiter.cancel();
    EXPECT_THROW(waiter.join(), balrog::cancelled);
  });
}

TEST(SharedFuture, EveryHolderGetsTheValue) {
  balrog::run([] {
    balrog::promise<int> p;
    balrog::shared_future<int> sf = p.get_future().share();
    int sum = 0;
    std::vector<balrog::fiber<void>> readers;
    for (int i = 0; i < 3; ++i) {
      readers.push_back(balrog::spawn([sf, &sum] { sum += sf.get(); }));
    }
    let_fibers_run();
    EXPECT_EQ(sum, 0);
    p.set_value(4);
    for (auto& r : readers) r.join();
    EXPECT_EQ(sum, 12);
    EXPECT_TRUE(sf.valid());
    EXPECT_EQ(sf.get(), 4);
  });
}

TEST(PackagedTask, RunsOnAnotherFiberAndReportsItsResult) {
  balrog::run([] {
    balrog::packaged_task<int(int, int)> task([](int a, int b) { return a * b; });
    EXPECT_TRUE(task.valid());
    auto f = task.get_future();
    auto runner = balrog::spawn([&] { task(6, 7); });
    EXPECT_EQ(f.get(), 42);
    runner.join();
    task.reset();
    auto g = task.get_future();
    task(2, 2);
    EXPECT_EQ(g.get(), 4);

    balrog::packaged_task<void()> throws([] { throw std::logic_error("no"); });
    auto h = throws.get_future();
    throws();
    EXPECT_THROW(h.get(), std::logic_error);
  });
}

TEST(Async, LaunchAsyncOnAFiberRunsANewFiberOfTheShard) {
  balrog::run([] {
    const auto self = std::this_thread::get_id();
    auto f = balrog::async(
        std::launch::async,
        [self](int x) {
          EXPECT_NE(balrog::this_fiber::id(), balrog::fiber_id{});
          EXPECT_EQ(std::this_thread::get_id(), self);  // same shard, no new thread
          balrog::this_fiber::sleep_for(1ms);
          return x + 1;
        },
        41);
    EXPECT_EQ(f.get(), 42);
  });
}

TEST(Async, ManyTasksOverlapTheirWaits) {
  balrog::run([] {
    const balrog_test::stopwatch watch;
    std::vector<balrog::future<int>> fs;
    for (int i = 0; i < 50; ++i) {
      fs.push_back(balrog::async([i] {  // the default policy runs as async
        balrog::this_fiber::sleep_for(20ms);
        return i;
      }));
    }
    int sum = 0;
    for (auto& f : fs) sum += f.get();
    EXPECT_EQ(sum, 49 * 50 / 2);
    EXPECT_LT(watch.elapsed(), 20ms * 25);  // concurrent, not 50 x 20 ms
  });
}

TEST(Async, TheLastFutureWaitsForTheTaskWhenDestroyed) {
  balrog::run([] {
    bool finished = false;
    {
      auto f = balrog::async(std::launch::async, [&] {
        balrog::this_fiber::sleep_for(5ms);
        finished = true;
      });
    }
    EXPECT_TRUE(finished);
  });
}

TEST(Async, DeferredRunsInTheFirstWaiter) {
  balrog::run([] {
    int runs = 0;
    auto f = balrog::async(std::launch::deferred, [&] { return ++runs; });
    let_fibers_run();
    EXPECT_EQ(runs, 0);
    EXPECT_EQ(f.wait_for(1ms), std::future_status::deferred);
    EXPECT_EQ(f.get(), 1);
    EXPECT_EQ(runs, 1);
  });
}

TEST(Async, OffTheRuntimeRunsOnAThreadAndExceptionsPropagate) {
  auto f = balrog::async(std::launch::async, [] {
    EXPECT_EQ(balrog::this_fiber::id(), balrog::fiber_id{});
    return std::string("thread");
  });
  EXPECT_EQ(f.get(), "thread");
  auto g = balrog::async(std::launch::async, []() -> int { throw std::runtime_error("x"); });
  EXPECT_THROW(g.get(), std::runtime_error);
}

TEST(Future, CrossThreadWakeups) {
  // A fiber waits for a plain thread; a plain thread waits for a fiber of another shard.
  balrog::promise<int> to_fiber;
  balrog::promise<int> to_thread;
  auto from_thread = to_fiber.get_future();
  auto from_fiber = to_thread.get_future();
  auto shard = balrog_test::run_on_thread([&] {
    const int v = from_thread.get();
    to_thread.set_value(v * 2);
  });
  std::thread setter([&] {
    balrog_test::give_thread_time_to_park();
    to_fiber.set_value(21);
  });
  EXPECT_EQ(from_fiber.get(), 42);
  setter.join();
  shard.get();
}

}  // namespace
