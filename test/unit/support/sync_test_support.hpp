// Helpers shared by the tests of the sync primitives and offload (header-only).
//
//  - stopwatch                 elapsed time, for the few assertions where timing is inherent;
//  - let_fibers_run()          on one shard, lets every ready fiber run until it suspends;
//  - spin_until(pred)          waits for a condition set by another thread (yields the fiber or
//                              the thread while it waits), failing the test after a limit;
//  - run_on_thread(fn)         balrog::run(fn) on a new thread (a second shard), as a future;
//  - give_thread_time_to_park  for plain threads, whose parking cannot be observed: a short
//                              pause that makes the interesting interleaving likely. Results
//                              never depend on it, only which code path gets exercised;
//  - a per-test watchdog       ends the process with the test's name when a test hangs, so a
//                              deadlock fails fast instead of waiting for ctest's timeout.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"

namespace balrog_test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class stopwatch {
 public:
  [[nodiscard]] steady::duration elapsed() const { return steady::now() - start_; }
  void restart() { start_ = steady::now(); }

 private:
  steady::time_point start_ = steady::now();
};

// On a fiber: yields `rounds` times. Every fiber of this shard that is ready runs until it
// suspends or finishes (a fiber woken during a round runs in a later round).
inline void let_fibers_run(int rounds = 4) {
  for (int i = 0; i < rounds; ++i) balrog::this_fiber::yield();
}

// Waits (yielding) until pred() holds; returns false (and the caller should fail) after
// `limit`. For conditions set by another thread; on one shard prefer let_fibers_run().
template <class Pred>
[[nodiscard]] bool spin_until(Pred pred, steady::duration limit = 10s) {
  const auto give_up = steady::now() + limit;
  while (!pred()) {
    if (steady::now() > give_up) return false;
    balrog::this_fiber::yield();
  }
  return true;
}

// balrog::run(fn) on a thread of its own; get() returns fn's value or rethrows.
template <class F>
auto run_on_thread(F fn) {
  return std::async(std::launch::async,
                    [fn = std::move(fn)]() mutable { return balrog::run(std::move(fn)); });
}

// See the file comment: never needed for correctness.
inline void give_thread_time_to_park() { std::this_thread::sleep_for(20ms); }

// --- watchdog ----------------------------------------------------------------------------

class watchdog : public ::testing::EmptyTestEventListener {
 public:
  static constexpr auto limit = 60s;

  void OnTestStart(const ::testing::TestInfo& info) override {
    state& s = shared();
    std::lock_guard lk(s.mutex);
    s.name = std::string(info.test_suite_name()) + "." + info.name();
    s.armed = true;
    s.until = steady::now() + limit;
    if (!s.started) {
      s.started = true;
      std::thread([&s] { s.loop(); }).detach();
    }
    s.wake.notify_one();
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    state& s = shared();
    std::lock_guard lk(s.mutex);
    s.armed = false;
    s.wake.notify_one();
  }

 private:
  struct state {
    std::mutex mutex;
    std::condition_variable wake;
    std::string name;
    bool armed = false;
    bool started = false;
    steady::time_point until;

    void loop() {
      std::unique_lock lk(mutex);
      for (;;) {
        if (!armed) {
          wake.wait(lk);
        } else if (wake.wait_until(lk, until) == std::cv_status::timeout && armed &&
                   steady::now() >= until) {
          std::fprintf(stderr, "watchdog: test %s did not finish within %lld s\n", name.c_str(),
                       static_cast<long long>(limit.count()));
          std::abort();
        }
      }
    }
  };
  // Never destroyed: the detached thread uses it until the process ends.
  static state& shared() {
    static state* s = new state();
    return *s;
  }
};

inline const bool watchdog_installed = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new watchdog);
  return true;
}();

}  // namespace balrog_test
