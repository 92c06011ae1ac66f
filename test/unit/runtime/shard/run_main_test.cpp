// balrog::run_main (balrog/run_main.hpp): what balrog-gen's run-main pass makes main() call.
#include "balrog/run_main.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "balrog/run.hpp"
#include "balrog/sync/mutex.hpp"
#include "balrog/this_fiber.hpp"
#include "balrog/thread.hpp"

namespace {

using namespace std::chrono_literals;

// Sets the soft RLIMIT_STACK for one test and puts the old one back.
class soft_stack_limit {
 public:
  explicit soft_stack_limit(rlim_t soft) {
    EXPECT_EQ(::getrlimit(RLIMIT_STACK, &old_), 0);
    rlimit wanted = old_;
    wanted.rlim_cur = soft;
    ok_ = ::setrlimit(RLIMIT_STACK, &wanted) == 0;
  }
  soft_stack_limit(const soft_stack_limit&) = delete;
  soft_stack_limit& operator=(const soft_stack_limit&) = delete;
  ~soft_stack_limit() { ::setrlimit(RLIMIT_STACK, &old_); }
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  rlimit old_{};
  bool ok_ = false;
};

// LeakSanitizer cannot judge a process that exit()s on a fiber: it scans the thread's stack
// from the stack pointer, then the fiber's, so whatever only the main stack points to (gtest's
// objects) looks leaked. The death tests' children (threadsafe style: a fresh exec, which
// reads the environment) run without it, the parent keeps it.
class no_leak_check_in_children {
 public:
  no_leak_check_in_children() {
#if defined(__SANITIZE_ADDRESS__)
    const char* old = std::getenv("ASAN_OPTIONS");
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv("ASAN_OPTIONS", (old_ + ":detect_leaks=0").c_str(), 1);
#endif
  }
  no_leak_check_in_children(const no_leak_check_in_children&) = delete;
  no_leak_check_in_children& operator=(const no_leak_check_in_children&) = delete;
  ~no_leak_check_in_children() {
    if (had_) {
      ::setenv("ASAN_OPTIONS", old_.c_str(), 1);
    } else {
#if defined(__SANITIZE_ADDRESS__)
      ::unsetenv("ASAN_OPTIONS");
#endif
    }
  }

 private:
  bool had_ = false;
  std::string old_;
};

// Touches `bytes` of the stack below the caller, from the top down (so that a stack too small
// for it meets its guard page first). alloca: the stack itself, also under ASan, whose fake
// stacks can move a large local array to the heap.
int touch_stack(std::size_t bytes) {
  auto* p = static_cast<volatile unsigned char*>(__builtin_alloca(bytes));
  for (std::size_t i = bytes; i >= 4096; i -= 4096) p[i - 1] = 1;
  p[0] = 1;
  return p[bytes - 1] + p[0];
}

TEST(RunMain, ReturnsTheExitStatus) {
  EXPECT_EQ(balrog::run_main([] { return 0; }), 0);
  EXPECT_EQ(balrog::run_main([] { return 42; }), 42);
  int argc = 3;
  EXPECT_EQ(balrog::run_main([&] { return argc + 1; }), 4);
}

TEST(RunMain, RunsOnTheMainFiberOfTheCallingThread) {
  const auto caller = std::this_thread::get_id();
  std::thread::id seen;
  std::string name;
  EXPECT_EQ(balrog::run_main([&] {
              seen = std::this_thread::get_id();
              name = balrog::this_fiber::name();
              return balrog::this_shard::count() == 1 ? 0 : 1;
            }),
            0);
  EXPECT_EQ(seen, caller);
  EXPECT_EQ(name, "main");
}

// What a rewritten program's std::threads are: balrog::threads, fibers of the one OS thread
// that called run_main, which wait for each other without blocking it.
TEST(RunMain, ThreadsAreFibersOfOneOsThreadAndRunConcurrently) {
  constexpr int threads = 50;
  std::set<std::thread::id> os_threads;
  const auto start = std::chrono::steady_clock::now();
  const int status = balrog::run_main([&] {
    balrog::mutex m;
    std::vector<balrog::thread> workers;
    for (int i = 0; i < threads; ++i) {
      workers.emplace_back([&] {
        balrog::this_fiber::sleep_for(200ms);
        const std::lock_guard<balrog::mutex> g(m);
        os_threads.insert(std::this_thread::get_id());
      });
    }
    for (balrog::thread& t : workers) {
      if (!t.is_fiber()) return 1;
      t.join();
    }
    return 7;
  });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status, 7);
  ASSERT_EQ(os_threads.size(), 1U);
  EXPECT_EQ(*os_threads.begin(), std::this_thread::get_id());
  EXPECT_LT(took, 200ms * threads / 4);  // concurrent: nowhere near 50 sleeps in a row
}

TEST(RunMain, DetachedThreadsStillRunningAtTheEndAreCancelled) {
  std::atomic<bool> unwound{false};
  const auto start = std::chrono::steady_clock::now();
  const int status = balrog::run_main([&] {
    balrog::thread([&] {
      struct on_unwind {
        std::atomic<bool>& flag;
        ~on_unwind() { flag = true; }
      } guard{unwound};
      balrog::this_fiber::sleep_for(1h);
    }).detach();
    balrog::this_fiber::yield();  // the detached fiber starts its sleep
    return 5;
  });
  EXPECT_EQ(status, 5);
  EXPECT_TRUE(unwound.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(RunMain, ShardsOption) {
  EXPECT_EQ(
      balrog::run_main([] { return static_cast<int>(balrog::this_shard::count()); }, {.shards = 3}),
      3);
}

TEST(RunMain, MainFiberStackIsTheMainThreadsLimit) {
  {
    const soft_stack_limit limit(16 << 20);
    ASSERT_TRUE(limit.ok());
    const balrog::fiber_options o = balrog::detail::main_fiber_options();
    EXPECT_EQ(o.name, "main");
    EXPECT_EQ(o.stack_size, std::size_t{16} << 20);
    EXPECT_EQ(o.stack, balrog::stack_kind::guarded);
  }
  {
    const soft_stack_limit limit(64 << 10);  // below the default fiber stack: never smaller
    ASSERT_TRUE(limit.ok());
    EXPECT_EQ(balrog::detail::main_fiber_options().stack_size, balrog::default_guarded_stack_size);
  }
  rlimit current{};
  ASSERT_EQ(::getrlimit(RLIMIT_STACK, &current), 0);
  if (current.rlim_max == RLIM_INFINITY) {
    const soft_stack_limit limit(RLIM_INFINITY);
    ASSERT_TRUE(limit.ok());
    EXPECT_EQ(balrog::detail::main_fiber_options().stack_size, std::size_t{8} << 20);
  }
}

// 2 MiB of stack on the main fiber: balrog::run's default main fiber (256 KiB) would overflow.
TEST(RunMain, MainCanUseAsMuchStackAsOnTheMainThread) {
  const soft_stack_limit limit(8 << 20);
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(balrog::run_main([] { return touch_stack(2 << 20); }), 2);
}

// The premise of the test above: balrog::run's main fiber has the default fiber stack.
TEST(RunMainDeathTest, TheDefaultMainFiberIsTooSmallForThat) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run([] { return touch_stack(2 << 20); }), "stack overflow in fiber 'main'");
}

TEST(RunMainDeathTest, AnExceptionEscapingMainTerminates) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run_main([]() -> int { throw std::runtime_error("escaped main"); }),
               "escaped main");
}

TEST(RunMainDeathTest, ExitFromAThreadEndsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const no_leak_check_in_children no_leak_check;
  EXPECT_EXIT(balrog::run_main([] {
                balrog::thread([] { std::exit(9); }).join();
                return 0;
              }),
              testing::ExitedWithCode(9), "");
}

}  // namespace
