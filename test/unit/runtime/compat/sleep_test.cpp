// balrog::compat sleep / usleep / nanosleep and this_thread::sleep_for / sleep_until / yield:
// on fibers (others keep running) and in sync mode.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "balrog/compat/posix_time.hpp"
#include "balrog/compat/this_thread.hpp"
#include "compat_test_support.hpp"

namespace compat = balrog::compat;
using namespace compat_test;

TEST(CompatSleep, NanosleepSuspendsOnlyTheFiber) {
  balrog::run([] {
    ticker t;
    const timespec req{0, 30'000'000};
    timespec rem{7, 7};
    const stopwatch sw;
    EXPECT_EQ(compat::nanosleep(&req, &rem), 0);
    EXPECT_GE(sw.elapsed(), 30ms);
    EXPECT_EQ(rem.tv_sec, 7);  // untouched on success
    EXPECT_GE(t.stop(), enough_ticks(30ms));
  });
}

TEST(CompatSleep, NanosleepRejectsWhatLibcRejects) {
  const std::vector<timespec> bad{{0, 1'000'000'000}, {0, -1}, {-1, 0}, {-1, 5}};
  const auto scenario = [&](auto nanosleep_fn) {
    std::vector<outcome> out;
    for (const timespec& req : bad) {
      timespec rem{7, 7};
      out.push_back(call([&] { return nanosleep_fn(&req, &rem); }));
      EXPECT_EQ(rem.tv_sec, 7);
      EXPECT_EQ(rem.tv_nsec, 7);
    }
    return out;
  };
  const auto libc = scenario(::nanosleep);
  EXPECT_EQ(libc, std::vector<outcome>(bad.size(), outcome{-1, EINVAL}));
  EXPECT_EQ(balrog::run([&] { return scenario(compat::nanosleep); }), libc);
  EXPECT_EQ(scenario(compat::nanosleep), libc);
  balrog::run([] {
    EXPECT_EQ(call([] { return compat::nanosleep(nullptr, nullptr); }), (outcome{-1, EFAULT}));
  });
}

TEST(CompatSleep, UsleepAndSleepOnAFiber) {
  balrog::run([] {
    ticker t;
    const stopwatch sw;
    EXPECT_EQ(compat::usleep(30'000), 0);
    EXPECT_GE(sw.elapsed(), 30ms);
    EXPECT_GE(t.ticks(), enough_ticks(30ms));
    // Zero durations yield: another ready fiber gets to run.
    bool ran = false;
    auto other = balrog::spawn([&] { ran = true; });
    EXPECT_EQ(compat::sleep(0), 0u);
    EXPECT_TRUE(ran);
    ran = false;
    auto again = balrog::spawn([&] { ran = true; });
    const timespec zero{0, 0};
    EXPECT_EQ(compat::nanosleep(&zero, nullptr), 0);
    EXPECT_TRUE(ran);
    other.join();
    again.join();
  });
}

TEST(CompatSleep, ThisThreadTwinsOnAFiber) {
  balrog::run([] {
    ticker t;
    stopwatch sw;
    compat::this_thread::sleep_for(20ms);
    EXPECT_GE(sw.elapsed(), 20ms);
    sw.restart();
    compat::this_thread::sleep_until(std::chrono::steady_clock::now() + 20ms);
    EXPECT_GE(sw.elapsed(), 20ms);
    sw.restart();
    compat::this_thread::sleep_until(std::chrono::system_clock::now() + 20ms);
    EXPECT_GE(sw.elapsed(), 15ms);  // system_clock and steady_clock tick differently
    compat::this_thread::sleep_for(std::chrono::duration<double, std::milli>(1.5));
    compat::this_thread::sleep_for(-5ms);
    EXPECT_GE(t.stop(), enough_ticks(55ms));
  });
}

TEST(CompatSleep, YieldLetsTheOtherFibersRun) {
  balrog::run([] {
    std::string trace;
    auto other = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        trace += 'b';
        compat::this_thread::yield();
      }
    });
    for (int i = 0; i < 3; ++i) {
      trace += 'a';
      compat::this_thread::yield();
    }
    other.join();
    EXPECT_EQ(trace, "ababab");
  });
}

TEST(CompatSleep, SyncModeSleepsTheThread) {
  std::thread plain([] {
    stopwatch sw;
    const timespec req{0, 10'000'000};
    EXPECT_EQ(compat::nanosleep(&req, nullptr), 0);
    EXPECT_EQ(compat::usleep(10'000), 0);
    EXPECT_EQ(compat::sleep(0), 0u);
    compat::this_thread::sleep_for(10ms);
    compat::this_thread::sleep_until(std::chrono::system_clock::now() + 10ms);
    compat::this_thread::yield();
    EXPECT_GE(sw.elapsed(), 35ms);
    const timespec bad{0, -1};
    EXPECT_EQ(call([&] { return compat::nanosleep(&bad, nullptr); }), (outcome{-1, EINVAL}));
  });
  plain.join();
}

TEST(CompatSleep, SuccessLeavesErrnoAlone) {
  balrog::run([] {
    errno = 4242;
    EXPECT_EQ(compat::usleep(1000), 0);
    EXPECT_EQ(errno, 4242);
    compat::this_thread::sleep_for(1ms);
    EXPECT_EQ(errno, 4242);
  });
}
