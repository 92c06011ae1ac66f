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
// Each round times K operations back to back and reports elapsed / K, in ns.
#include <cstddef>
#include <cstdint>
#include <semaphore>
#include <thread>

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

double spawn_join_round(std::size_t ops, std::size_t shard) {
  balrog::runtime rt({.threads = 2});
  return rt.run([ops, shard] {
    for (int i = 0; i < 100; ++i) balrog::spawn_on(shard, [] {}).join();  // stack pools
    const std::int64_t t0 = now_ns();
    for (std::size_t i = 0; i < ops; ++i) balrog::spawn_on(shard, [] {}).join();
    return static_cast<double>(now_ns() - t0) / static_cast<double>(ops);
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
    const samples s = alternate(
        opt.rounds, [&] { return spawn_join_round(spawn_ops, 1); },
        [&] { return spawn_join_round(spawn_ops, 0); });
    case_result c2("spawn_on + join across shards", "ns", "lower",
                   "spawn_on + join on the same shard");
    c2.balrog_samples = s.balrog;
    c2.peer_samples = s.peer;
    c2.note =
        "ns per spawn_on(1, empty) + join from shard 0 of a two-shard runtime vs the same "
        "on shard 0; " +
        std::to_string(spawn_ops) + " ops per round";
    c2.with("iterations_per_round", static_cast<double>(spawn_ops));
    emit(c2);
  });
}
