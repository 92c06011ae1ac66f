// Timer wake-ups: a C++20 coroutine resumed by the shard's loop vs a fiber resumed by it.
//
// One "timer wake-up round trip", both sides: the sleeper computes a deadline 1 us from now
// and waits for it (`co_await balrog::sleep_for(1us)` in a coroutine,
// `balrog::this_fiber::sleep_for(1us)` on a fiber); it suspends with a timer armed in the
// scheduler's timer wheel; the scheduler loop later finds the timer due (clock read at the top
// of a loop turn, timer_wheel::fire_due), the timer's callback wakes the sleeper (claims it and
// pushes it on the ready queue), the loop dispatches it, and the sleep call returns. The next
// round trip starts at once.
//
// Why 1 us and not 0: neither side arms a timer for a deadline already past when it is
// checked. this_fiber::sleep_until turns a past time into yield(); a coroutine's
// sleep_awaiter claims itself at once and is requeued (task_context::suspend_coroutine). A
// deadline 1 us ahead is still in the future at those checks (a few ns later), so both sides
// take the real timer path on every iteration.
//
// Two cases:
//  1. "timer wake-up round trip": one sleeper, nothing else runnable (the main fiber is
//     parked in join). After the sleeper suspends, the loop finds its timer not yet due and
//     nothing ready, so the reactor blocks in epoll_pwait2 with the time left as its timeout,
//     returns when it expires, and the loop fires the timer. This is the latency a lone timer
//     sees on an idle shard, and it includes the kernel's timer slack (50 us by default for
//     an ordinary thread, applied to epoll timeouts): both sides pay it alike. As a reference
//     (extra fields, same alternation), each round is repeated with this thread's timer slack
//     set to 1 ns (prctl PR_SET_TIMERSLACK, restored afterwards), which shows how much of the
//     round trip is slack.
//  2. "timer wake-up, 1000 concurrent sleepers": 1000 sleepers on one shard, each doing the
//     same round trips. While 999 others run, a sleeper's 1 us deadline always passes before
//     the loop looks at the heap again, so the loop never has to block in the reactor: this
//     isolates the runtime's own cost per wake-up (timer wheel arm and fire with 1000 timers,
//     claim, ready queue, and the switch to the fiber or the coroutine resume; checked with
//     strace: no epoll call at all during these rounds). The main fiber spawns the sleepers and
//     yields once, so that every sleeper has run into its first sleep (each fiber's stack pages
//     are faulted in) before the clock starts; value = elapsed time until all are joined /
//     (sleepers x sleeps each). Their exit and join are inside the window (about 0.5 % of it).
//
//  balrog side: the sleepers are coroutines started with balrog::spawn_task (their loop code
//    runs on the scheduler loop's stack; a wake-up is a coroutine_handle::resume() from the
//    loop).
//  peer: the sleepers are fibers started with balrog::spawn (default guarded stacks; a
//    wake-up is a context switch to the fiber, from the loop or directly from the fiber that
//    just parked when the woken fiber is next in the ready queue).
// Both in a fresh balrog::run per round, alternated with the harness.
#include <sys/prctl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/sleep.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;
using namespace std::chrono_literals;

constexpr auto sleep_time = 1us;
constexpr std::size_t warm_up_sleeps = 200;  // single-sleeper rounds, inside the round, untimed

// --- one sleeper -------------------------------------------------------------------------

// Runs fn with this thread's timer slack set to `ns` nanoseconds, then restores it.
template <class F>
double with_timer_slack(unsigned long ns, F&& fn) {
  const int old = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  if (old < 0 || ::prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) != 0) {
    throw std::runtime_error("prctl(PR_SET_TIMERSLACK) failed");
  }
  const double v = fn();
  ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old), 0, 0, 0);
  return v;
}

balrog::task<std::int64_t> lone_task_sleeper(std::size_t n) {
  for (std::size_t i = 0; i < warm_up_sleeps; ++i) co_await balrog::sleep_for(sleep_time);
  const std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < n; ++i) co_await balrog::sleep_for(sleep_time);
  co_return now_ns() - t0;
}

std::int64_t lone_fiber_sleeper(std::size_t n) {
  for (std::size_t i = 0; i < warm_up_sleeps; ++i) balrog::this_fiber::sleep_for(sleep_time);
  const std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < n; ++i) balrog::this_fiber::sleep_for(sleep_time);
  return now_ns() - t0;
}

double lone_task_round(std::size_t n) {
  return balrog::run([n] {
    const std::int64_t elapsed = balrog::spawn_task(lone_task_sleeper(n)).join();
    return static_cast<double>(elapsed) / static_cast<double>(n);
  });
}

double lone_fiber_round(std::size_t n) {
  return balrog::run([n] {
    const std::int64_t elapsed = balrog::spawn([n] { return lone_fiber_sleeper(n); }).join();
    return static_cast<double>(elapsed) / static_cast<double>(n);
  });
}

// --- many sleepers -----------------------------------------------------------------------

balrog::task<void> task_sleeper(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) co_await balrog::sleep_for(sleep_time);
}

void fiber_sleeper(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) balrog::this_fiber::sleep_for(sleep_time);
}

double many_task_round(std::size_t sleepers, std::size_t each) {
  return balrog::run([=] {
    std::vector<balrog::task_handle<void>> hs;
    hs.reserve(sleepers);
    for (std::size_t i = 0; i < sleepers; ++i) hs.push_back(balrog::spawn_task(task_sleeper(each)));
    balrog::this_fiber::yield();  // FIFO: every sleeper runs into its first sleep first
    const std::int64_t t0 = now_ns();
    for (auto& h : hs) h.join();
    const std::int64_t elapsed = now_ns() - t0;
    return static_cast<double>(elapsed) / static_cast<double>(sleepers * each);
  });
}

double many_fiber_round(std::size_t sleepers, std::size_t each) {
  return balrog::run([=] {
    std::vector<balrog::fiber<void>> fs;
    fs.reserve(sleepers);
    for (std::size_t i = 0; i < sleepers; ++i)
      fs.push_back(balrog::spawn([each] { fiber_sleeper(each); }));
    balrog::this_fiber::yield();  // every sleeper runs into its first sleep (stacks faulted in)
    const std::int64_t t0 = now_ns();
    for (auto& f : fs) f.join();
    const std::int64_t elapsed = now_ns() - t0;
    return static_cast<double>(elapsed) / static_cast<double>(sleepers * each);
  });
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);

    const std::size_t lone_n = opt.iterations(5'000);
    std::vector<double> task_low_slack;
    std::vector<double> fiber_low_slack;
    const samples lone = alternate(
        opt.rounds,
        [&] {
          task_low_slack.push_back(with_timer_slack(1, [&] { return lone_task_round(lone_n); }));
          return lone_task_round(lone_n);
        },
        [&] {
          fiber_low_slack.push_back(with_timer_slack(1, [&] { return lone_fiber_round(lone_n); }));
          return lone_fiber_round(lone_n);
        });
    task_low_slack.erase(task_low_slack.begin());  // the warm-up rounds'
    fiber_low_slack.erase(fiber_low_slack.begin());
    case_result c1("timer wake-up round trip", "ns", "lower", "fiber resumed by the reactor");
    c1.balrog_samples = lone.balrog;
    c1.peer_samples = lone.peer;
    c1.note =
        "ns per round trip = sleep_for(1 us) called, timer armed, sleeper suspended, the loop "
        "finds nothing ready and blocks in epoll_pwait2 until the timer is due, fires it, "
        "resumes the sleeper, sleep_for returns; one sleeper alone on the shard. balrog: a "
        "spawn_task coroutine doing co_await balrog::sleep_for(1us); peer: a fiber doing "
        "this_fiber::sleep_for(1us). Includes the kernel's epoll timeout slack (default "
        "50 us), paid alike by both; *_timer_slack_1ns_* = the same rounds with the thread's "
        "timer slack set to 1 ns (reference); " +
        std::to_string(lone_n) + " round trips per round";
    c1.with("overhead_ns", median(lone.balrog) - median(lone.peer));
    c1.with("timer_slack_1ns_ns", median(task_low_slack));
    c1.with("peer_timer_slack_1ns_ns", median(fiber_low_slack));
    c1.with_samples("timer_slack_1ns_samples", task_low_slack);
    c1.with_samples("peer_timer_slack_1ns_samples", fiber_low_slack);
    c1.with("deadline_ns", 1000.0);
    c1.with("iterations_per_round", static_cast<double>(lone_n));
    emit(c1);

    const std::size_t sleepers = 1000;
    const std::size_t each = opt.iterations(500);
    const samples many = alternate(
        opt.rounds, [&] { return many_task_round(sleepers, each); },
        [&] { return many_fiber_round(sleepers, each); });
    case_result c2("timer wake-up, 1000 concurrent sleepers", "ns", "lower",
                   "fiber resumed by the reactor");
    c2.balrog_samples = many.balrog;
    c2.peer_samples = many.peer;
    c2.note =
        "ns per wake-up = elapsed / (sleepers x sleeps each); 1000 sleepers on one shard each "
        "loop on sleep_for(1 us), so every deadline has passed when the loop next looks and it "
        "never blocks in the reactor: the runtime's own cost of arming, firing (timer wheel with "
        "1000) and resuming. The clock starts once every sleeper has run into its first "
        "sleep. balrog: spawn_task coroutines (co_await balrog::sleep_for), peer: fibers "
        "(this_fiber::sleep_for); " +
        std::to_string(each) + " sleeps per sleeper per round";
    c2.with("overhead_ns", median(many.balrog) - median(many.peer));
    c2.with("sleepers", static_cast<double>(sleepers));
    c2.with("sleeps_per_sleeper", static_cast<double>(each));
    c2.with("deadline_ns", 1000.0);
    emit(c2);
  });
}
