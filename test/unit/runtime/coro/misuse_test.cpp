// The one "misuse here" check (detail::misuse_here, throw_misuse): a blocking-style call made
// where waiting would stall the shard (coroutine code, a scheduler's loop) is refused with a
// usage_error that names the call and the place, before it does anything.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/offload.hpp"
#include "balrog/run.hpp"
#include "balrog/sleep.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

namespace {

// The message of the usage_error `fn` throws, or "" when it throws none.
template <class F>
std::string usage_error_of(F&& fn) {
  try {
    fn();
  } catch (const balrog::usage_error& e) {
    return e.what();
  }
  return "";
}

balrog::task<void> yields() {
  balrog::this_fiber::yield();
  co_return;
}

std::atomic<int> offloaded_runs{0};

balrog::task<int> offloads() {
  co_return balrog::offload([] { return ++offloaded_runs; });
}

balrog::task<void> sleeps_blocking() {
  balrog::this_fiber::sleep_for(1ms);
  co_return;
}

balrog::task<int> plus_one(int v) {
  co_await balrog::sleep_for(1ms);
  co_return v + 1;
}

balrog::task<int> awaits_inside() { co_return balrog::await(plus_one(1)); }

}  // namespace

TEST(Misuse, YieldInATaskIsRefusedAndNamesTheCall) {
  balrog::run([] {
    const std::string what = usage_error_of([] { balrog::spawn_task(yields()).join(); });
    EXPECT_NE(what.find("this_fiber::yield()"), std::string::npos) << what;
    EXPECT_NE(what.find("inside a C++20 coroutine"), std::string::npos) << what;
  });
}

TEST(Misuse, YieldInAChainUnderAwaitIsRefusedAndNamesTheCall) {
  balrog::run([] {
    const std::string what = usage_error_of([] { balrog::await(yields()); });
    EXPECT_NE(what.find("this_fiber::yield()"), std::string::npos) << what;
  });
}

TEST(Misuse, OffloadInATaskIsRefusedBeforeItsFunctionRuns) {
  offloaded_runs = 0;
  balrog::run([] {
    const std::string what = usage_error_of([] { (void)balrog::spawn_task(offloads()).join(); });
    EXPECT_NE(what.find("balrog::offload"), std::string::npos) << what;
    const std::string chained = usage_error_of([] { (void)balrog::await(offloads()); });
    EXPECT_NE(chained.find("balrog::offload"), std::string::npos) << chained;
  });
  EXPECT_EQ(offloaded_runs.load(), 0);
}

TEST(Misuse, AwaitInATaskNamesAwait) {
  balrog::run([] {
    const std::string what =
        usage_error_of([] { (void)balrog::spawn_task(awaits_inside()).join(); });
    EXPECT_NE(what.find("balrog::await"), std::string::npos) << what;
    EXPECT_NE(what.find("inside a C++20 coroutine"), std::string::npos) << what;
  });
}

TEST(Misuse, AnyOtherBlockingWaitInATaskIsRefusedTheSameWay) {
  balrog::run([] {
    const std::string what = usage_error_of([] { balrog::spawn_task(sleeps_blocking()).join(); });
    EXPECT_NE(what.find("inside a C++20 coroutine"), std::string::npos) << what;
    // Outside coroutine code the same calls are fine.
    balrog::this_fiber::yield();
    balrog::this_fiber::sleep_for(1ms);
    EXPECT_EQ(balrog::offload([] { return 3; }), 3);
  });
}
