// Wake-ups across threads: a fiber woken by a plain thread, and spawn_on + join across shards.
//
// Case "remote wake round trip": a fiber (the main fiber of balrog::run) and a plain thread
// play ping-pong over two balrog::semaphore(0): the fiber releases `ping` and acquires `pong`,
// the thread acquires `ping` and releases `pong`. Every round trip wakes the fiber from the
// other thread once (its scheduler's remote queue; the eventfd when the shard sleeps in epoll,
// which it does: nothing else is ready) and the thread once (a futex).
//  peer: two std::threads over two std::binary_semaphore (two futex wake-ups).
//
// Case "spawn_on + join across shards": the main fiber of a two-shard balrog::runtime spawns an
// empty function on shard 1 and joins it: the fiber is sent to shard 1 (its remote queue), runs
// there, and its end wakes the joiner on shard 0 (shard 0's remote queue).
//  peer: spawn + join of the same function on shard 0 (no remote queue).
//  extra: the same across shards with an idle spin long enough that neither shard sleeps
//  (4096 pauses, about 100 µs, and no sched_yield, which under CPU load hands the core to
//  other processes for a time slice), and the process's voluntary (blocking) and involuntary
//  (preempted, or yielded to another process) context switches per operation in both runs. An idle
//  shard spins (64 pauses, 4 yields: a few µs), then sleeps in epoll; a sleeping shard is woken
//  through its eventfd, which on a VM takes longer than the other shard's spin, so that one sleeps
//  too: the default runs either spin through (no context switch per operation) or fall into
//  sleeping on both sides (about 2 per operation), as the machine's wake-up latency decides. The
//  spinning run is the code's own cost.
// Each round times K operations back to back and reports elapsed / K, in ns.
#include <cstddef>
#include <cstdint>
#include <semaphore>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/runtime.hpp"
#include "balrog/sync/semaphore.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;

double fiber_thread_round(std::size_t ops) {
  balrog::semaphore ping(0);
  balrog::semaphore pong(0);
  std::thread peer([&] {
    for (std::size_t i = 0; i < ops; ++i) {
      ping.acquire();
      pong.release();
    }
  });
  const double ns = balrog::run([&] {
    const std::int64_t t0 = now_ns();
    for (std::size_t i = 0; i < ops; ++i) {
      ping.release();
      pong.acquire();
    }
    return static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
  });
  peer.join();
  return ns;
}

double thread_thread_round(std::size_t ops) {
  std::binary_semaphore ping(0);
  std::binary_semaphore pong(0);
  std::thread peer([&] {
    for (std::size_t i = 0; i < ops; ++i) {
      ping.acquire();
      pong.release();
    }
  });
  const std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < ops; ++i) {
    ping.release();
    pong.acquire();
  }
  const double ns = static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
  peer.join();
  return ns;
}

// Context switches of the whole process so far: voluntary (a thread blocked: epoll, futex) and
// involuntary (preempted, or a sched_yield that ran another process).
struct context_switches {
  std::vector<double> voluntary;  // per operation, one per round
  std::vector<double> involuntary;
};

rusage usage_now() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u;
}

// `switches`, when given, gets this round's context switches per operation.
double spawn_join_round(std::size_t ops, std::size_t shard, bool spin_through = false,
                        context_switches* switches = nullptr) {
  balrog::runtime_options o;
  o.threads = 2;
  if (spin_through) {
    o.shard.idle_spin_pauses = 4096;
    o.shard.idle_spin_yields = 0;
  }
  balrog::runtime rt(o);
  return rt.run([ops, shard, switches] {
    for (int i = 0; i < 100; ++i) balrog::spawn_on(shard, [] {}).join();  // stack pools
    const rusage u0 = usage_now();
    const std::int64_t t0 = now_ns();
    for (std::size_t i = 0; i < ops; ++i) balrog::spawn_on(shard, [] {}).join();
    const double ns = static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
    if (switches != nullptr) {
      const rusage u1 = usage_now();
      const auto n = static_cast<double>(ops);
      switches->voluntary.push_back(static_cast<double>(u1.ru_nvcsw - u0.ru_nvcsw) / n);
      switches->involuntary.push_back(static_cast<double>(u1.ru_nivcsw - u0.ru_nivcsw) / n);
    }
    return ns;
  });
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    const std::size_t wake_ops = opt.iterations(50'000);
    const samples w = alternate(
        opt.rounds, [&] { return fiber_thread_round(wake_ops); },
        [&] { return thread_thread_round(wake_ops); });
    case_result c("remote wake round trip", "ns", "lower",
                  "two std::threads over std::binary_semaphore");
    c.balrog_samples = w.balrog;
    c.peer_samples = w.peer;
    c.note =
        "ns per round trip: a fiber and a plain thread over two balrog::semaphore (the fiber "
        "woken through its shard's remote queue and eventfd) vs two threads; " +
        std::to_string(wake_ops) + " round trips per round";
    c.with("iterations_per_round", static_cast<double>(wake_ops));
    emit(c);

    const std::size_t spawn_ops = opt.iterations(50'000);
    context_switches switches;
    const samples s = alternate(
        opt.rounds, [&] { return spawn_join_round(spawn_ops, 1, false, &switches); },
        [&] { return spawn_join_round(spawn_ops, 0); });
    // A tenth as many: under CPU load (no real-time priority) a shard that spins 100 µs keeps
    // its core while the other shard waits for one, and an operation can take 0.5 ms.
    const std::size_t spin_ops = spawn_ops / 10;
    context_switches spin_switches;
    const std::vector<double> spinning =
        repeat(opt.rounds, [&] { return spawn_join_round(spin_ops, 1, true, &spin_switches); });

    case_result c2("spawn_on + join across shards", "ns", "lower",
                   "spawn_on + join on the same shard");
    c2.balrog_samples = s.balrog;
    c2.peer_samples = s.peer;
    c2.note =
        "ns per spawn_on(1, empty) + join from shard 0 of a two-shard runtime vs the same "
        "on shard 0; " +
        std::to_string(spawn_ops) +
        " ops per round; spinning_shards (a tenth as many ops): the same with an idle spin of 4096 "
        "pauses and no "
        "yields, so neither shard sleeps (the code's own cost, without the wake-up latency); "
        "context switches of the process per op, voluntary (a shard slept) and involuntary";
    c2.with("iterations_per_round", static_cast<double>(spawn_ops));
    // The first entries are the warm-up rounds'.
    const auto kept = [](std::vector<double> v) {
      return std::vector<double>(v.begin() + 1, v.end());
    };
    c2.with_samples("voluntary_switches_per_op_samples", kept(switches.voluntary));
    c2.with_samples("involuntary_switches_per_op_samples", kept(switches.involuntary));
    c2.with("spinning_shards_ns", median(spinning));
    c2.with_samples("spinning_shards_samples", spinning);
    c2.with_samples("spinning_shards_voluntary_switches_per_op_samples",
                    kept(spin_switches.voluntary));
    c2.with_samples("spinning_shards_involuntary_switches_per_op_samples",
                    kept(spin_switches.involuntary));
    emit(c2);
  });
}
