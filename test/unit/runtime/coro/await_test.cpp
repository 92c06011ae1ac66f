// The bridges: balrog::await (fiber -> coroutine, and sync mode), balrog::on_fiber
// (coroutine -> fiber), with awaitables that are not balrog's.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/run.hpp"
#include "balrog/runtime.hpp"
#include "balrog/sleep.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/sync/mutex.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "support/open_fds.hpp"

using namespace std::chrono_literals;

namespace foreign {

// A coroutine type written with no knowledge of balrog: its own promise, eager start, and a
// continuation slot. It proves balrog::await is not tied to balrog::task.
template <class T>
class lazy_value {
 public:
  struct promise_type {
    T value{};
    std::exception_ptr error;
    std::coroutine_handle<> waiter;
    lazy_value get_return_object() {
      return lazy_value(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct resume_waiter {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          return h.promise().waiter ? h.promise().waiter : std::noop_coroutine();
        }
        void await_resume() noexcept {}
      };
      return resume_waiter{};
    }
    void return_value(T v) { value = std::move(v); }
    void unhandled_exception() { error = std::current_exception(); }
  };

  lazy_value(lazy_value&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  ~lazy_value() {
    if (h_) h_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> w) noexcept {
    h_.promise().waiter = w;
    return h_;
  }
  T await_resume() {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
    return std::move(h_.promise().value);
  }

 private:
  explicit lazy_value(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

// An awaitable completed by a thread of its own (like a callback-based library would do):
// balrog cannot see inside it.
struct resumed_by_a_thread {
  std::thread* worker;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    *worker = std::thread([h] {
      std::this_thread::sleep_for(10ms);
      h.resume();
    });
  }
  int await_resume() const noexcept { return 7; }
};

// A thread that resumes every handle it is given at once: the resume races the awaiting
// side's await_suspend, as a callback-based library's completion can.
class resumer {
 public:
  resumer() : thread_([this] { loop(); }) {}
  resumer(const resumer&) = delete;
  resumer& operator=(const resumer&) = delete;
  ~resumer() {
    give({});
    thread_.join();
  }
  void give(std::coroutine_handle<> h) {
    {
      std::lock_guard lk(mutex_);
      queue_.push_back(h);
    }
    ready_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      std::coroutine_handle<> h;
      {
        std::unique_lock lk(mutex_);
        ready_.wait(lk, [this] { return !queue_.empty(); });
        h = queue_.front();
        queue_.pop_front();
      }
      if (!h) return;
      h.resume();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::coroutine_handle<>> queue_;
  std::thread thread_;
};

struct resumed_at_once {
  resumer* by;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { by->give(h); }
  int await_resume() const noexcept { return 1; }
};

lazy_value<int> sum_with_balrog_sleep(int a, int b) {
  co_await balrog::sleep_for(2ms);  // a balrog awaitable inside a foreign coroutine
  co_return a + b;
}

lazy_value<int> throws() {
  co_await balrog::sleep_for(1ms);
  throw std::logic_error("foreign failure");
}

}  // namespace foreign

namespace {

balrog::task<int> ticks_while_others_run(int n) {
  for (int i = 0; i < n; ++i) co_await balrog::sleep_for(1ms);
  co_return n;
}

}  // namespace

TEST(Await, ABalrogTaskOnAFiberSuspendsOnlyThatFiber) {
  balrog::run([] {
    int other = 0;
    auto f = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        ++other;
        balrog::this_fiber::sleep_for(1ms);
      }
    });
    EXPECT_EQ(balrog::await(ticks_while_others_run(5)), 5);
    EXPECT_EQ(other, 3);
    f.join();
  });
}

namespace {

balrog::task<void> sleep_zero_then_past() {
  co_await balrog::sleep_for(0ms);
  co_await balrog::sleep_until(balrog::clock::now() - 1s);
}

}  // namespace

// co_await sleep_for(0) (or a past time) yields, as this_fiber::sleep_for(0) does: in a chain
// under balrog::await on a fiber, and in a task.
TEST(Await, AZeroOrPastSleepInAnAwaitedChainYieldsTheFiber) {
  balrog::run([] {
    int other = 0;
    auto f = balrog::spawn([&] {
      for (int i = 0; i < 2; ++i) {
        ++other;
        balrog::this_fiber::yield();
      }
    });
    EXPECT_EQ(other, 0);
    balrog::await(sleep_zero_then_past());
    EXPECT_EQ(other, 2);  // one yield per sleep
    f.join();
  });
}

TEST(Await, AZeroOrPastSleepInATaskYieldsTheLoop) {
  balrog::run([] {
    int other = 0;
    auto f = balrog::spawn([&] {
      for (int i = 0; i < 2; ++i) {
        ++other;
        balrog::this_fiber::yield();
      }
    });
    auto t = balrog::spawn_task([](int& o) -> balrog::task<int> {
      const int before = o;
      co_await balrog::sleep_for(0ms);
      co_return o - before;
    }(other));
    EXPECT_GE(t.join(), 1);
    f.join();
  });
}

TEST(Await, AZeroSleepInAnAwaitedChainStillReportsCancellationAndExpiredScopes) {
  balrog::run([] {
    EXPECT_THROW(
        {
          balrog::deadline_scope scope(0ms);
          balrog::await(sleep_zero_then_past());
        },
        balrog::timeout_error);
    bool reached = false;
    auto f = balrog::spawn([&] {
      reached = true;
      balrog::await(sleep_zero_then_past());
    });
    f.cancel();  // before it runs
    EXPECT_THROW(f.join(), balrog::cancelled);
    EXPECT_TRUE(reached);
  });
}

TEST(Await, AForeignCoroutineType) {
  balrog::run([] {
    EXPECT_EQ(balrog::await(foreign::sum_with_balrog_sleep(2, 3)), 5);
    EXPECT_THROW(balrog::await(foreign::throws()), std::logic_error);
  });
}

TEST(Await, AnAwaitableResumedByAnotherThread) {
  std::thread worker;
  balrog::run([&] {
    int ticks = 0;
    auto ticker = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        ++ticks;
        balrog::this_fiber::sleep_for(1ms);
      }
    });
    EXPECT_EQ(balrog::await(foreign::resumed_by_a_thread{&worker}), 7);
    ticker.join();
    EXPECT_EQ(ticks, 3);  // the shard kept running while the foreign wait was pending
  });
  worker.join();
}

// Review finding A: the driver's completion must be its last touch. A foreign thread resumes
// the chain at once; the fiber then takes a contended mutex. A late wake from the completion
// would land on the mutex wait (two owners), and a completer reading the freed driver frame
// shows under ASan/TSan. A fixed count, not a time budget, so every run does the same work
// and prints how much. Issue 10 asks for 10^6 iterations; on the shared 2-core VM one took
// 1-3 ms while the rival and task fibers keep the shard busy (50 us without them), so 10^6
// would take close to an hour. The suite does 5 000 (2 000 under ASan and TSan);
// BALROG_STRESS_ITERATIONS=1000000 runs the count.
namespace {

long stress_iterations() {
  if (const char* n = std::getenv("BALROG_STRESS_ITERATIONS")) return std::atol(n);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return 2'000;
#else
  return 5'000;
#endif
}

}  // namespace

TEST(Await, AForeignResumeFollowedAtOnceByAContendedMutexStress) {
  foreign::resumer by;
  const long iterations = stress_iterations();
  ASSERT_GT(iterations, 0);
  long done = 0;
  const auto start = std::chrono::steady_clock::now();
  balrog::run([&] {
    balrog::mutex m;
    int inside = 0;
    bool stop = false;
    auto hold = [&] {
      m.lock();
      EXPECT_EQ(inside++, 0) << "two owners of one mutex";
      balrog::this_fiber::yield();
      --inside;
      m.unlock();
    };
    auto rival = balrog::spawn([&] {
      while (!stop) {
        hold();
        balrog::this_fiber::yield();
      }
    });
    auto tasks = balrog::spawn([&] {  // the same through spawn_task (task_done)
      while (!stop) {
        balrog::spawn_task([](foreign::resumer& r) -> balrog::task<int> {
          co_return co_await foreign::resumed_at_once{&r};
        }(by))
            .detach();
        balrog::this_fiber::yield();
      }
    });
    for (; done < iterations; ++done) {
      const int resumed = balrog::await(foreign::resumed_at_once{&by});
      if (resumed != 1) {  // not ASSERT: stop must be set, or run() waits for rival forever
        ADD_FAILURE() << "await returned " << resumed;
        break;
      }
      hold();
    }
    stop = true;
    rival.join();
    tasks.join();
  });
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(done, iterations);
  std::printf("[ stress   ] %ld iterations in %.1f s\n", done, took.count());
  RecordProperty("iterations", std::to_string(done));
}

// Review finding D: a chain resumed by a foreign awaitable on another thread (or by another
// fiber of the shard) comes home before it goes on: its next balrog await suspends its own
// fiber or task, on its own thread.
namespace {

balrog::task<std::thread::id> thread_after_foreign_resume(foreign::resumer& r) {
  co_await foreign::resumed_at_once{&r};
  const std::thread::id after_resume = std::this_thread::get_id();
  co_await balrog::sleep_for(1ms);  // a balrog await right after: binds to the chain's owner
  EXPECT_EQ(std::this_thread::get_id(), after_resume);
  co_return after_resume;
}

// Resumed by whoever calls release(): here, another fiber of the same shard.
struct parked_handle {
  std::coroutine_handle<> h;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> c) noexcept { h = c; }
  void await_resume() const noexcept {}
};

}  // namespace

TEST(Await, AChainResumedByAnotherThreadComesHome) {
  foreign::resumer by;
  balrog::run([&] {
    const auto home = std::this_thread::get_id();
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(balrog::await(thread_after_foreign_resume(by)), home);
      EXPECT_EQ(balrog::spawn_task(thread_after_foreign_resume(by)).join(), home);
    }
  });
}

TEST(Await, AChainResumedByAnotherFiberComesHomeToItsOwnFiber) {
  balrog::run([] {
    parked_handle p;
    balrog::fiber_id seen_after{};
    auto waiter = balrog::spawn([&] {
      balrog::await([](parked_handle& ph, balrog::fiber_id& seen) -> balrog::task<void> {
        co_await ph;
        co_await balrog::sleep_for(1ms);
        seen = balrog::this_fiber::id();
      }(p, seen_after));
      return balrog::this_fiber::id();
    });
    while (!p.h) balrog::this_fiber::yield();
    auto resumer = balrog::spawn([&] {
      p.h.resume();  // on this fiber's stack: the chain must go back to `waiter`
      balrog::this_fiber::sleep_for(5ms);
    });
    const balrog::fiber_id waiter_id = waiter.join();
    resumer.join();
    EXPECT_EQ(seen_after, waiter_id);
  });
}

TEST(Await, StandardAwaitables) {
  balrog::run([] {
    balrog::await(std::suspend_never{});
    struct ready_int {
      bool await_ready() const noexcept { return true; }
      void await_suspend(std::coroutine_handle<>) noexcept {}
      int await_resume() const noexcept { return 11; }
    };
    EXPECT_EQ(balrog::await(ready_int{}), 11);
    ready_int lvalue;
    EXPECT_EQ(balrog::await(lvalue), 11);
  });
}

TEST(Await, OnAPlainThreadRunsAPrivateScheduler) {
  // Sync mode: no balrog::run on this thread.
  EXPECT_EQ(balrog::await(ticks_while_others_run(3)), 3);
  EXPECT_EQ(balrog::await(foreign::sum_with_balrog_sleep(1, 1)), 2);
  EXPECT_EQ(balrog::block_on(ticks_while_others_run(2)), 2);
}

namespace {
// LeakSanitizer's hook: an exit() in the middle of a test leaves the test's own objects behind,
// which are no leak of the runtime's. Set only in the death test's child, just before exit().
bool leak_check_off = false;
}  // namespace

extern "C" int __lsan_is_turned_off() { return leak_check_off ? 1 : 0; }

namespace {

using balrog::test::open_fds;

balrog::task<int> plus_one(int x) { co_return x + 1; }

balrog::task<int> leaves_a_detached_fiber() {
  balrog::spawn([] { balrog::this_fiber::sleep_for(1h); }).detach();
  co_await balrog::sleep_for(1ms);
  co_return 7;
}

}  // namespace

TEST(Await, BlockOnKeepsOneSchedulerPerThreadBetweenCalls) {
  EXPECT_EQ(balrog::block_on(plus_one(0)), 1);  // makes this thread's sync-mode scheduler
  const std::size_t fds = open_fds();
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(balrog::block_on(plus_one(i)), i + 1);
    EXPECT_EQ(balrog::this_shard::count(), 0U);  // idle between calls: no scheduler runs here
  }
  EXPECT_EQ(balrog::block_on(ticks_while_others_run(2)), 2);
  // Detached fibers are cancelled and drained at the end of a call; the next one starts clean.
  EXPECT_EQ(balrog::block_on(leaves_a_detached_fiber()), 7);
  EXPECT_EQ(balrog::block_on(leaves_a_detached_fiber()), 7);
  EXPECT_EQ(open_fds(), fds) << "each call made a scheduler (an epoll fd and an eventfd)";
  // balrog::run still makes its own on this thread, and block_on inside it is refused.
  balrog::run([] {
    EXPECT_EQ(balrog::this_shard::count(), 1U);
    EXPECT_THROW((void)balrog::block_on(plus_one(1)), balrog::usage_error);
  });
  EXPECT_EQ(balrog::block_on(plus_one(2)), 3);
}

TEST(Await, BlockOnSchedulersOfExitedThreadsAreFreed) {
  const std::size_t fds = open_fds();
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < 20; ++i) EXPECT_EQ(balrog::block_on(plus_one(t + i)), t + i + 1);
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(open_fds(), fds);
}

TEST(Await, BlockOnInAForkedChildUsesAFreshScheduler) {
  EXPECT_EQ(balrog::block_on(plus_one(0)), 1);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The parent's epoll instance is shared with the child: a cached scheduler that kept it
    // would see the parent's registrations. A sleep needs the child's own loop.
    const int v = balrog::block_on(foreign::sum_with_balrog_sleep(2, 3));
    ::_exit(v == 5 && balrog::block_on(plus_one(4)) == 5 ? 0 : 1);
  }
  // Meanwhile the parent uses its own.
  EXPECT_EQ(balrog::block_on(foreign::sum_with_balrog_sleep(1, 1)), 2);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

balrog::task<int> exits_with(int code) {
  co_await balrog::sleep_for(1ms);
  leak_check_off = true;
  std::exit(code);
}

TEST(AwaitDeathTest, ExitOnABlockOnFiberLeavesTheRunningSchedulerAlone) {
  // exit() destroys the thread's cached scheduler on the fiber's own stack, unless it is left
  // alone because it runs.
  EXPECT_EXIT((void)balrog::block_on(exits_with(3)), ::testing::ExitedWithCode(3), "");
}

TEST(Await, HonoursTheFibersDeadlineAndCancellation) {
  balrog::run([] {
    {
      balrog::deadline_scope scope(10ms);
      EXPECT_THROW(balrog::await(ticks_while_others_run(1000)), balrog::timeout_error);
    }
    auto f = balrog::spawn([] { return balrog::await(ticks_while_others_run(1000)); });
    balrog::this_fiber::sleep_for(3ms);
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
  });
}

TEST(Await, OnTheLoopIsAUsageError) {
  // A scheduler exists on this thread but no fiber runs: posted work must not wait.
  balrog::run([] {
    auto t = []() -> balrog::task<void> {
      co_await balrog::sleep_for(1ms);
      co_return;
    };
    // From coroutine code (the loop runs tasks): refused, as any blocking call is.
    auto bad = [&t]() -> balrog::task<void> {
      balrog::await(t());
      co_return;
    };
    EXPECT_THROW(balrog::spawn_task(bad()).join(), balrog::usage_error);
  });
}

TEST(OnFiber, RunsBlockingCodeOnAFiberAndReturnsItsValue) {
  balrog::run([] {
    auto coro = []() -> balrog::task<int> {
      const int v = co_await balrog::on_fiber([] {
        balrog::this_fiber::sleep_for(2ms);  // blocking-style, fine on a fiber
        return 21;
      });
      co_return v * 2;
    };
    EXPECT_EQ(balrog::spawn_task(coro()).join(), 42);
    EXPECT_EQ(balrog::await(coro()), 42);
  });
}

TEST(OnFiber, PropagatesExceptions) {
  balrog::run([] {
    auto coro = []() -> balrog::task<void> {
      co_await balrog::on_fiber([] { throw std::out_of_range("from the fiber"); });
    };
    EXPECT_THROW(balrog::spawn_task(coro()).join(), std::out_of_range);
  });
}

TEST(OnFiber, CancellingTheCoroutineCancelsTheFiberAndWaitsForIt) {
  balrog::run([] {
    bool fiber_unwound = false;
    auto coro = [](bool& unwound) -> balrog::task<void> {
      co_await balrog::on_fiber([&unwound] {
        try {
          balrog::this_fiber::sleep_for(1h);
        } catch (const balrog::cancelled&) {
          unwound = true;
          throw;
        }
      });
    };
    auto h = balrog::spawn_task(coro(fiber_unwound));
    balrog::this_fiber::sleep_for(2ms);
    h.cancel();
    EXPECT_THROW(h.join(), balrog::cancelled);
    EXPECT_TRUE(fiber_unwound);  // on_fiber waited for the fiber before throwing
  });
}
