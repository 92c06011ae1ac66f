// balrog/compat/this_thread.hpp — std::this_thread's sleeps and yield, made safe on a fiber.
//
// balrog-gen's `std-thread` map rewrites std::this_thread::sleep_for, sleep_until and yield in
// existing synchronous code to these twins, which have the same signatures:
//
//  - Plain thread (no balrog scheduler on this thread: sync mode): the std:: function is called.
//  - On a fiber: the fiber sleeps on the shard's timers, or yields to the other ready fibers;
//    the thread keeps running them. sleep_for measures on steady_clock; sleep_until re-reads
//    `Clock` after waking and sleeps again if that clock has not reached the time yet (a clock
//    like system_clock may be adjusted meanwhile), as libstdc++ does. A zero or negative
//    duration, or a time already past, yields once (std:: returns at once; on a fiber nothing
//    else could run otherwise).
//
// The std:: functions cannot fail, so neither can these, and they never throw. Three cases end
// a sleep early instead, with errno telling why (the only way left to tell):
//  - ECANCELED: the fiber was cancelled (balrog::fiber::cancel). Cancellation is sticky, so
//    every later sleep of that fiber also returns at once (after a yield): check
//    balrog::this_fiber::cancellation_requested() in loops that only sleep;
//  - ETIMEDOUT: an enclosing balrog::deadline_scope ended first;
//  - EDEADLK: called inside C++20 coroutine code (a balrog::task, a chain driven by
//    balrog::await), where sleeping would stall the whole shard: nothing is slept. Use
//    co_await balrog::sleep_for there (balrog-gen reports these call sites).
// A sleep that completes leaves errno alone. yield() never fails; in coroutine code it yields
// the thread (std::this_thread::yield), which cannot stall anything for long.
#pragma once

#include <chrono>
#include <thread>

#include "balrog/deadline.hpp"

namespace balrog::compat {

namespace detail {
// True when no balrog scheduler runs on this thread (sync mode: call the std:: function).
[[nodiscard]] bool in_sync_mode() noexcept;
// Suspends the calling fiber until `until` (a past time yields). Returns 0 when the time came,
// else the errno it also stores (ECANCELED, ETIMEDOUT, EDEADLK).
int fiber_sleep_until(deadline until) noexcept;
}  // namespace detail

namespace this_thread {

template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& rel_time) {
  if (detail::in_sync_mode()) {
    std::this_thread::sleep_for(rel_time);
    return;
  }
  detail::fiber_sleep_until(deadline(rel_time));
}

template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& abs_time) {
  if (detail::in_sync_mode()) {
    std::this_thread::sleep_until(abs_time);
    return;
  }
  do {
    if (detail::fiber_sleep_until(deadline(abs_time - Clock::now())) != 0) return;
  } while (Clock::now() < abs_time);
}

void yield() noexcept;

}  // namespace this_thread

}  // namespace balrog::compat
