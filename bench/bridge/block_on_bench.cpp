// balrog::block_on of a ready task<int> on a plain thread (sync mode) vs the same await on a
// fresh balrog::run per call.
//
// One operation, both sides: from a plain thread with no runtime, run a task<int> that
// co_returns x + 1 at once and get its value.
//
//  balrog: `int v = balrog::block_on(ready_value(x));`. block_on runs the await on the
//    thread's cached sync-mode scheduler (made by the first call, kept until the thread exits):
//    per call a fiber (a stack from the scheduler's pool), the loop's turns and the await.
//  peer: `int v = balrog::run([&] { return balrog::await(ready_value(x)); });`, which is what
//    block_on did before it cached a scheduler: per call a scheduler, its reactor (an epoll
//    instance and an eventfd), its stack pool (the main fiber's stack mapped and unmapped),
//    the debug registry's lock twice, and the await.
// x comes from the loop counter through an empty asm (opaque()), v goes to do_not_optimize().
#include <cstddef>
#include <cstdint>

#include "balrog/await.hpp"
#include "balrog/run.hpp"
#include "balrog/task.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;

constexpr std::size_t warm_up_ops = 200;  // inside every round, not timed

inline int opaque(std::size_t i) noexcept {
  int v = static_cast<int>(i);
  asm volatile("" : "+r"(v));
  return v;
}

balrog::task<int> ready_value(int x) { co_return x + 1; }

double block_on_round(std::size_t ops) {
  for (std::size_t i = 0; i < warm_up_ops; ++i)
    do_not_optimize(balrog::block_on(ready_value(opaque(i))));
  const std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < ops; ++i) {
    const int v = balrog::block_on(ready_value(opaque(i)));
    do_not_optimize(v);
  }
  return static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
}

int fresh_run(int x) {
  return balrog::run([x] { return balrog::await(ready_value(x)); });
}

double fresh_run_round(std::size_t ops) {
  for (std::size_t i = 0; i < warm_up_ops; ++i) do_not_optimize(fresh_run(opaque(i)));
  const std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < ops; ++i) {
    const int v = fresh_run(opaque(i));
    do_not_optimize(v);
  }
  return static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    const std::size_t block_on_ops = opt.iterations(200'000);
    const std::size_t run_ops = opt.iterations(20'000);
    const samples s = alternate(
        opt.rounds, [&] { return block_on_round(block_on_ops); },
        [&] { return fresh_run_round(run_ops); });
    case_result c("block_on of a ready task<int> on a plain thread (sync mode)", "ns", "lower",
                  "balrog::run + await per call (a fresh scheduler per call)");
    c.balrog_samples = s.balrog;
    c.peer_samples = s.peer;
    c.note =
        "ns per call: balrog::block_on(t) on the thread's cached sync-mode scheduler vs "
        "balrog::run([&] { return balrog::await(t); }) (block_on before the cache); t a task<int> "
        "that co_returns x + 1 at once; " +
        std::to_string(block_on_ops) + " block_on calls and " + std::to_string(run_ops) +
        " runs per round";
    c.with("iterations_per_round", static_cast<double>(block_on_ops));
    c.with("peer_iterations_per_round", static_cast<double>(run_ops));
    emit(c);
  });
}
