// Spawn + join of a fiber vs std::thread create + join.
//
// One operation, both sides: create an execution context that runs an empty function, wait
// until it has finished, and reclaim it. Each round times K operations back to back and reports
// elapsed / K, in ns.
//
//  balrog: balrog::spawn([] {}) then join(), from the main fiber inside one balrog::run, with
//    the default (guarded) stack kind. Stacks are pooled per scheduler: after the first
//    operation every spawn reuses the cached stack (no mmap, no page faults). The operation
//    includes the fiber_context and task allocations, the switch to the new fiber, its exit
//    and the switch back to the joiner.
//  peer: std::thread t([] {}); t.join(); on the main thread (clone + futex + munmap of the
//    8 MiB default stack, which glibc caches too).
#include <cstddef>
#include <cstdint>
#include <thread>

#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;

double balrog_round(std::size_t ops) {
  return balrog::run([ops] {
    for (int i = 0; i < 1000; ++i) balrog::spawn([] {}).join();  // fills the stack pool
    const std::int64_t t0 = now_ns();
    for (std::size_t i = 0; i < ops; ++i) balrog::spawn([] {}).join();
    return static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
  });
}

double thread_round(std::size_t ops) {
  const std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < ops; ++i) std::thread([] {}).join();
  return static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    const std::size_t fiber_ops = opt.iterations(500'000);
    const std::size_t thread_ops = opt.iterations(5'000);
    const samples s = alternate(
        opt.rounds, [&] { return balrog_round(fiber_ops); },
        [&] { return thread_round(thread_ops); });
    case_result c("spawn + join", "ns", "lower", "std::thread create + join");
    c.balrog_samples = s.balrog;
    c.peer_samples = s.peer;
    c.note =
        "ns per spawn+join of an empty function; balrog: default guarded stacks from the "
        "scheduler's pool, " +
        std::to_string(fiber_ops) + " ops per round; threads: " + std::to_string(thread_ops) +
        " ops per round";
    c.with("iterations_per_round", static_cast<double>(fiber_ops));
    c.with("peer_iterations_per_round", static_cast<double>(thread_ops));
    emit(c);
  });
}
