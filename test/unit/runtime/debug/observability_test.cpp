// dump_fibers / list_fibers and the watchdog.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "balrog/debug.hpp"
#include "balrog/runtime.hpp"
#include "balrog/sleep.hpp"
#include "balrog/sync.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

// External linkage and no inlining, so backtraces can name them (dladdr sees exported symbols).
[[gnu::noinline]] void observability_test_sleeper() {
  balrog::this_fiber::sleep_for(1h);
  asm volatile("");  // keep the call from becoming a tail call
}

// Spins without calling anything, so the watchdog's signal lands in this very function (a frame
// in libc or the vDSO, which keep no frame pointers, would hide its caller from the walk).
[[gnu::noinline]] void observability_test_spin(std::chrono::milliseconds how_long) {
  std::atomic<bool> stop{false};
  std::thread timer([&] {
    std::this_thread::sleep_for(how_long);
    stop = true;
  });
  while (!stop.load(std::memory_order_relaxed)) {
  }
  timer.join();
  asm volatile("");
}

balrog::task<void> observability_test_coroutine() { co_await balrog::sleep_for(1h); }

namespace {

const balrog::fiber_snapshot* find(const std::vector<balrog::fiber_snapshot>& all,
                                   std::string_view name) {
  for (const auto& f : all) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool mentions(const std::vector<std::string>& frames, std::string_view what) {
  return std::any_of(frames.begin(), frames.end(),
                     [&](const std::string& f) { return f.find(what) != std::string::npos; });
}

}  // namespace

TEST(DumpFibers, ListsEveryFiberWithStateWaitAndBacktrace) {
  balrog::runtime({.threads = 2}).run([] {
    balrog::mutex m;
    balrog::channel<int> ch(1);
    auto sleeper = balrog::spawn([] { observability_test_sleeper(); }, {.name = "sleeper"});
    std::unique_lock held(m);
    auto locker = balrog::spawn([&] { std::lock_guard lk(m); }, {.name = "locker"});
    auto popper = balrog::spawn_on(1, [&] { (void)ch.pop(); }, {.name = "popper"});
    auto task = balrog::spawn_task(observability_test_coroutine(), {.name = "coro"});
    balrog::this_fiber::sleep_for(20ms);

    const auto all = balrog::list_fibers();
    const auto* s = find(all, "sleeper");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->state, balrog::fiber_state::waiting);
    EXPECT_EQ(s->waiting_on, "sleep");
    EXPECT_GE(s->waiting_for, 10ms);
    EXPECT_TRUE(mentions(s->backtrace, "observability_test_sleeper"));
    const auto* l = find(all, "locker");
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->waiting_on, "mutex");
    const auto* p = find(all, "popper");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->shard, 1U);
    EXPECT_EQ(p->waiting_on, "channel-pop");
    const auto* c = find(all, "coro");
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->is_task);
    EXPECT_TRUE(mentions(c->backtrace, "observability_test_coroutine"))
        << ::testing::PrintToString(c->backtrace);
    const auto* main = find(all, "main");
    ASSERT_NE(main, nullptr);
    EXPECT_EQ(main->state, balrog::fiber_state::running);

    std::ostringstream text;
    balrog::dump_fibers(text);
    EXPECT_NE(text.str().find("fiber sleeper"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("waiting on sleep"), std::string::npos) << text.str();

    held.unlock();
    locker.join();
    ch.push(1);
    popper.join();
    sleeper.cancel();
    task.cancel();
  });
}

TEST(DumpFibers, ReportsAShardThatDoesNotAnswer) {
  balrog::runtime({.threads = 2}).run([] {
    balrog::set_watchdog({.threshold = 0ms});  // this test stalls a shard on purpose
    auto blocker = balrog::spawn_on(1, [] { observability_test_spin(900ms); });
    balrog::this_fiber::sleep_for(20ms);
    std::ostringstream text;
    balrog::dump_fibers(text);
    EXPECT_NE(text.str().find("shard 1: did not answer"), std::string::npos) << text.str();
    blocker.join();
    balrog::set_watchdog({});
  });
}

TEST(Watchdog, NamesTheFiberThatStallsItsShardAndWhereItIs) {
  std::mutex m;
  std::vector<balrog::watchdog_report> reports;
  balrog::set_watchdog(
      {.threshold = 30ms, .print = false, .hook = [&](const balrog::watchdog_report& r) {
         std::lock_guard lk(m);
         reports.push_back(r);
       }});
  balrog::run(
      [] { balrog::spawn([] { observability_test_spin(200ms); }, {.name = "spinner"}).join(); });
  balrog::set_watchdog({});
  std::lock_guard lk(m);
  ASSERT_EQ(reports.size(), 1U);  // once per stall
  EXPECT_EQ(reports[0].name, "spinner");
  EXPECT_GE(reports[0].stalled_for, 30ms);
  EXPECT_TRUE(mentions(reports[0].backtrace, "observability_test_spin"))
      << ::testing::PrintToString(reports[0].backtrace);
}

TEST(Watchdog, CanBeTurnedOff) {
  std::atomic<int> reports{0};
  balrog::set_watchdog(
      {.threshold = 0ms, .hook = [&](const balrog::watchdog_report&) { ++reports; }});
  balrog::run([] { observability_test_spin(150ms); });
  balrog::set_watchdog({});
  EXPECT_EQ(reports, 0);
}

TEST(Watchdog, WithoutStackCaptureStillReportsTheStall) {
  std::atomic<int> reports{0};
  balrog::set_watchdog({.threshold = 30ms,
                        .print = false,
                        .hook =
                            [&](const balrog::watchdog_report& r) {
                              EXPECT_TRUE(r.backtrace.empty());
                              ++reports;
                            },
                        .capture_stack = false});
  balrog::run([] { observability_test_spin(150ms); });
  balrog::set_watchdog({});
  EXPECT_EQ(reports, 1);
}
