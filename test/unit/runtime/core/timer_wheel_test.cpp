// White-box: the timer wheel (runtime/src/reactor/timer_wheel): exact order, ties in arming
// order, never early, and arm/cancel churn that leaves nothing behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "reactor/timer_wheel.hpp"

using namespace std::chrono_literals;
using steady = balrog::clock;
using balrog::detail::timer_node;
using balrog::detail::timer_wheel;

namespace {

// A timer that records when it fired, into a log shared by the test.
struct probe {
  timer_node node;
  int id = 0;
  std::vector<int>* log = nullptr;
  steady::time_point fired_at{};
  steady::time_point* now = nullptr;

  static void on_fire(timer_node& n) noexcept {
    auto* p = static_cast<probe*>(n.data);
    p->log->push_back(p->id);
    p->fired_at = *p->now;
  }
};

class Wheel : public ::testing::Test {
 protected:
  void arm(probe& p, int id, steady::time_point when) {
    p.id = id;
    p.log = &log;
    p.now = &now;
    p.node.when = when;
    p.node.fire = &probe::on_fire;
    p.node.data = &p;
    wheel.arm(p.node);
  }
  // Moves time forward in `step`s until `until`, firing what is due; checks that next() never
  // promises later than a due timer.
  void run_until(steady::time_point until, steady::duration step) {
    while (now < until) {
      now = std::min(until, now + step);
      if (!wheel.empty()) {
        EXPECT_LE(wheel.next(), earliest_armed());
      }
      wheel.fire_due(now);
    }
  }
  steady::time_point earliest_armed() const {
    steady::time_point e = steady::time_point::max();
    for (const probe* p : armed) {
      if (p->node.armed()) e = std::min(e, p->node.when);
    }
    return e;
  }

  timer_wheel wheel;
  std::vector<int> log;
  steady::time_point now = steady::now();
  std::vector<probe*> armed;
};

}  // namespace

TEST_F(Wheel, TimersFireInDeadlineOrderAndTiesInArmingOrder) {
  std::minstd_rand random(7);
  // Deadlines from now to a few minutes away (every level of the wheel), many of them equal.
  std::uniform_int_distribution<int> pick(0, 400);
  std::vector<probe> probes(5000);
  std::vector<std::pair<steady::time_point, int>> expected;
  for (int i = 0; i < static_cast<int>(probes.size()); ++i) {
    const int r = pick(random);
    const steady::duration in = r < 100   ? std::chrono::microseconds(r * 37)
                                : r < 300 ? std::chrono::milliseconds(r)
                                          : std::chrono::seconds(r - 200);
    arm(probes[static_cast<std::size_t>(i)], i, now + in);

    expected.emplace_back(now + in, i);
  }
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  run_until(now + 250s, 3ms);
  ASSERT_TRUE(wheel.empty());
  ASSERT_EQ(log.size(), expected.size());
  for (std::size_t i = 0; i < log.size(); ++i) {
    ASSERT_EQ(log[i], expected[i].second) << "at position " << i;
  }
  for (const probe& p : probes) {
    EXPECT_GE(p.fired_at, p.node.when) << "timer " << p.id << " fired early";
  }
}

TEST_F(Wheel, EqualDeadlinesFireInArmingOrderAcrossLevels) {
  // The same deadline armed from different distances: early ones sit in high levels, later
  // ones in low levels or the heap; they still fire in arming order.
  const steady::time_point when = now + 70s;
  std::vector<probe> probes(6);
  for (int i = 0; i < 6; ++i) {
    arm(probes[static_cast<std::size_t>(i)], i, when);
    now += 13s;  // the wheel learns the time only from fire_due
    wheel.fire_due(now);
  }
  run_until(when + 1ms, 500us);
  EXPECT_EQ(log, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST_F(Wheel, ArmingAndCancellingAHundredThousandDeadlinesLeavesNothing) {
  std::minstd_rand random(11);
  std::uniform_int_distribution<int> ms(1, 600'000);  // up to ten minutes
  std::vector<probe> probes(100'000);
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < probes.size(); ++i) {
      arm(probes[i], static_cast<int>(i), now + std::chrono::milliseconds(ms(random)));
    }
    EXPECT_EQ(wheel.size(), probes.size());
    // Cancel in an order unrelated to arming or deadlines, as I/O completes.
    for (std::size_t i = 0; i < probes.size(); i += 2) wheel.disarm(probes[i].node);
    for (std::size_t i = 1; i < probes.size(); i += 2) wheel.disarm(probes[i].node);
    EXPECT_TRUE(wheel.empty());
    for (const probe& p : probes) EXPECT_FALSE(p.node.armed());
    now += 1s;
    wheel.fire_due(now);
  }
  EXPECT_TRUE(log.empty()) << "a cancelled timer fired";
  // Cancelling twice, or a timer never armed, is harmless.
  wheel.disarm(probes[0].node);
  probe fresh;
  wheel.disarm(fresh.node);
}

TEST_F(Wheel, CancellingSomeWhileOthersFire) {
  std::vector<probe> probes(1000);
  for (int i = 0; i < 1000; ++i) {
    arm(probes[static_cast<std::size_t>(i)], i, now + std::chrono::milliseconds(1 + i));
    armed.push_back(&probes[static_cast<std::size_t>(i)]);
  }
  for (int i = 0; i < 1000; i += 3) wheel.disarm(probes[static_cast<std::size_t>(i)].node);
  run_until(now + 2s, 700us);
  std::vector<int> expected;
  for (int i = 0; i < 1000; ++i) {
    if (i % 3 != 0) expected.push_back(i);
  }
  EXPECT_EQ(log, expected);
}

TEST_F(Wheel, APastDeadlineFiresAtTheNextLook) {
  probe p;
  arm(p, 1, now - 1h);
  EXPECT_LE(wheel.next(), now);
  EXPECT_EQ(wheel.fire_due(now), 1U);
  EXPECT_EQ(log, (std::vector<int>{1}));
}

TEST_F(Wheel, NextIsNeverLaterThanTheEarliestDeadline) {
  probe far;
  probe near;
  arm(far, 1, now + 3h);
  armed.push_back(&far);
  EXPECT_EQ(wheel.next(), far.node.when) << "a lone timer: the loop sleeps once, until it";
  arm(near, 2, now + 5ms);
  armed.push_back(&near);
  EXPECT_LE(wheel.next(), near.node.when);
  run_until(now + 10ms, 1ms);
  EXPECT_EQ(log, (std::vector<int>{2}));
  EXPECT_LE(wheel.next(), far.node.when);
  // The loop wakes at most a few times per level on the way to a far deadline.
  int wakeups = 0;
  while (!wheel.empty()) {
    now = std::max(now, wheel.next());
    wheel.fire_due(now);
    ASSERT_LT(++wakeups, 64);
  }
  EXPECT_EQ(log, (std::vector<int>{2, 1}));
  EXPECT_GE(far.fired_at, far.node.when);
}
