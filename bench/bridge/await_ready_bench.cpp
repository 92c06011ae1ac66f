// balrog::await of a ready task<int> on a fiber vs a direct function call.
//
// One operation, both sides: hand an int to a piece of code that adds 1 to it, and get the
// result back on the calling fiber.
//
//  balrog: `int v = balrog::await(ready_value(x));` on the main fiber of balrog::run, where
//    ready_value is a balrog::task<int> coroutine whose body is `co_return x + 1;` (it never
//    suspends). One operation is everything that line costs: creating the task (its
//    coroutine frame is heap-allocated), balrog::await's checks (where_to_await), creating the
//    driver coroutine that co_awaits the task (a second heap frame), running both (two
//    symmetric transfers), the driver's completion report (a seq_cst store and its on_done
//    hook), taking the value out, and destroying both frames.
//  peer: `int v = direct_value(x);`, a plain function with the same body, marked
//    [[gnu::noipa]] (no inlining, no cloning, no interprocedural constant propagation or
//    purity analysis), so each iteration really calls it.
// On both sides x comes from the loop counter through an empty asm the compiler cannot see
// through (opaque()), and v goes to do_not_optimize(): neither loop can be folded, hoisted or
// deleted. Both loops run on the main fiber of a fresh balrog::run per round.
//
// Neither loop ever returns control to the scheduler loop (nothing in it suspends), so the
// runtime's watchdog would report a "stall" every 100 ms and signal the thread for a
// backtrace; it is switched off for this program (balrog::set_watchdog, threshold 0).
//
// reference (extra fields, not the peer): `co_await ready_value(x)` from inside a coroutine
// (a task driven by balrog::await once for the whole loop). That pays the task's frame and the
// two symmetric transfers but not balrog::await's driver, so it splits balrog's cost into "a
// coroutine call" and "the fiber-to-coroutine bridge".
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/debug.hpp"
#include "balrog/run.hpp"
#include "balrog/task.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;

constexpr std::size_t warm_up_ops = 10'000;  // inside every round, not timed

// The value passes through a register the compiler must assume was rewritten.
inline int opaque(std::size_t i) noexcept {
  int v = static_cast<int>(i);
  asm volatile("" : "+r"(v));
  return v;
}

balrog::task<int> ready_value(int x) { co_return x + 1; }

[[gnu::noipa]] int direct_value(int x) { return x + 1; }

double balrog_round(std::size_t ops) {
  return balrog::run([ops] {
    for (std::size_t i = 0; i < warm_up_ops; ++i)
      do_not_optimize(balrog::await(ready_value(opaque(i))));
    const std::int64_t t0 = now_ns();
    for (std::size_t i = 0; i < ops; ++i) {
      const int v = balrog::await(ready_value(opaque(i)));
      do_not_optimize(v);
    }
    return static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
  });
}

double direct_round(std::size_t ops) {
  return balrog::run([ops] {
    for (std::size_t i = 0; i < warm_up_ops; ++i) do_not_optimize(direct_value(opaque(i)));
    const std::int64_t t0 = now_ns();
    for (std::size_t i = 0; i < ops; ++i) {
      const int v = direct_value(opaque(i));
      do_not_optimize(v);
    }
    return static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
  });
}

balrog::task<std::int64_t> co_await_loop(std::size_t ops) {
  for (std::size_t i = 0; i < warm_up_ops; ++i) do_not_optimize(co_await ready_value(opaque(i)));
  const std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < ops; ++i) {
    const int v = co_await ready_value(opaque(i));
    do_not_optimize(v);
  }
  co_return now_ns() - t0;
}

double co_await_round(std::size_t ops) {
  return balrog::run([ops] {
    const std::int64_t elapsed = balrog::await(co_await_loop(ops));
    return static_cast<double>(elapsed) / static_cast<double>(ops);
  });
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    balrog::set_watchdog({.threshold = std::chrono::milliseconds(0)});  // see the top comment
    const std::size_t await_ops = opt.iterations(2'000'000);
    const std::size_t direct_ops = opt.iterations(20'000'000);
    std::vector<double> co_await_samples;
    // The reference rides along with the balrog side, so it sees the same alternation.
    const samples s = alternate(
        opt.rounds,
        [&] {
          co_await_samples.push_back(co_await_round(await_ops));
          return balrog_round(await_ops);
        },
        [&] { return direct_round(direct_ops); });
    co_await_samples.erase(co_await_samples.begin());  // the warm-up round's
    case_result c("await of a ready task<int> on a fiber", "ns", "lower",
                  "direct call of a [[gnu::noipa]] function");
    c.balrog_samples = s.balrog;
    c.peer_samples = s.peer;
    c.note =
        "ns per call: balrog::await(t) on the main fiber, t a task<int> that co_returns x + 1 at "
        "once (task frame + await's driver frame, both heap-allocated, created, run, destroyed "
        "every call) vs int direct_value(int) with the same body, not inlinable; " +
        std::to_string(await_ops) + " awaits and " + std::to_string(direct_ops) +
        " direct calls per round";
    c.with("overhead_ns", median(s.balrog) - median(s.peer));
    c.with("co_await_from_coroutine_ns", median(co_await_samples));
    c.with_samples("co_await_from_coroutine_samples", co_await_samples);
    c.with("iterations_per_round", static_cast<double>(await_ops));
    c.with("peer_iterations_per_round", static_cast<double>(direct_ops));
    emit(c);
  });
}
