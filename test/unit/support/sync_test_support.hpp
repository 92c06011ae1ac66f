// Helpers shared by the tests of the sync primitives and offload (header-only).
//
//  - stopwatch                 elapsed time, for the few assertions where timing is inherent;
//  - let_fibers_run()          on one shard, lets every ready fiber run until it suspends;
//  - spin_until(pred)          waits for a condition set by another thread (yields the fiber or
//                              the thread while it waits), failing the test after a limit;
//  - run_on_thread(fn)         balrog::run(fn) on a new thread (a second shard), as a future;
//  - another_fiber_can_lock(m) whether another fiber of this shard could lock m now;
//  - stress_from_shards_and_threads(attempt, shape)  attempt(k) from fibers on two shards and
//                              from plain threads at once;
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
#include <vector>

#include "balrog/fiber.hpp"
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

// For stress tests of timeouts racing hand-overs: calls attempt(int) from two shards at once
// (each on a thread of its own, with `fibers` fibers: fiber i passes k + i for k in
// [0, rounds) and yields after every `yield_every`-th) and from `threads` plain threads
// (thread j passes k + 3 * j). Returns when all are done.
struct stress_shape {
  int fibers;
  int rounds;
  int yield_every;
  int threads;
};
template <class Attempt>
void stress_from_shards_and_threads(Attempt& attempt, stress_shape shape) {
  auto shard = [&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < shape.fibers; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        for (int k = 0; k < shape.rounds; ++k) {
          attempt(k + i);
          if (k % shape.yield_every == 0) balrog::this_fiber::yield();
        }
      }));
    }
    for (auto& f : fibers) f.join();
  };
  auto a = run_on_thread(shard);
  auto b = run_on_thread(shard);
  std::vector<std::thread> plain;
  for (int j = 0; j < shape.threads; ++j) {
    plain.emplace_back([&, j] {
      for (int k = 0; k < shape.rounds; ++k) attempt(k + 3 * j);
    });
  }
  a.get();
  b.get();
  for (auto& t : plain) t.join();
}

// On a fiber: whether another fiber of this shard could lock `m` (exclusively) right now. It
// tries, and unlocks at once when it could.
template <class Lockable>
[[nodiscard]] bool another_fiber_can_lock(Lockable& m) {
  return balrog::spawn([&] {
           if (!m.try_lock()) return false;
           m.unlock();
           return true;
         })
      .join();
}

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
