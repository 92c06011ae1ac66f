// balrog/runtime.hpp — several shards: one scheduler and reactor per thread, no migration.
//
//   balrog::runtime rt({.threads = 4});
//   int r = rt.run([] {
//     auto f = balrog::spawn_on(2, [] { return work(); });  // runs on shard 2's thread
//     return f.join();                                     // joined from shard 0
//   });
//
// A shard is a thread with its own scheduler and reactor. run(fn) makes the calling thread
// shard 0 and runs fn there on the main fiber; shards 1..threads-1 get threads of their own.
// A fiber stays on the shard it was spawned on for its whole life (libpq, OpenSSL, errno and
// CPython keep thread-local state that compilers cache across calls). Work moves between shards
// only when you ask: spawn_on(shard, fn). Everything that synchronizes works across shards:
// join, cancel, channels, events, mutexes, wait groups (wake-ups cross threads through the
// target shard's eventfd). For servers, balrog::per_shard_server gives each shard its own
// SO_REUSEPORT listener and acceptor, so connections are spread by the kernel and each one is
// served by the shard that accepted it.
//
// run() returns when fn and every non-detached fiber and task on every shard have finished;
// then each shard cancels and drains its detached fibers, and the threads end. It returns
// fn's value or rethrows fn's exception. balrog::run(fn) is the one-shard case. When start-up
// fails (a shard's thread cannot be created, a shard's epoll instance or eventfd cannot be, or
// fn's fiber gets no stack), every shard that started stops and run() throws that error
// (balrog::io_error) without running fn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "balrog/debug.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"

namespace balrog {

// The tunables of one shard's scheduler (in the manner of folly's FiberManager::Options). The
// defaults are what balrog::run and sync mode use.
struct shard_options {
  // Direct fiber-to-fiber switches before the loop gets a turn (remote wake-ups, timers, fd
  // events). Higher: fewer loop turns when fibers keep yielding to each other, but timers and
  // I/O wait longer behind them. 0: no direct switches, every switch goes through the loop.
  unsigned dispatch_budget = 128;
  // Runnables a loop turn dispatches (each with its own dispatch_budget) before it looks at
  // remote wake-ups, timers and fds again: one such look per batch, not per dispatch. So a
  // remote wake-up or an fd event waits behind at most about dispatch_batch x dispatch_budget
  // switches. 0 counts as 1.
  unsigned dispatch_batch = 64;
  // Before an idle shard sleeps in epoll it watches its remote queue: idle_spin_pauses looks
  // with a CPU pause between them (about 70 ns each on this project's EPYC VMs), then
  // idle_spin_yields looks after a sched_yield each. A wake-up from another thread during the
  // spin costs no eventfd write, no epoll wake-up and no wake-up latency (a fiber and a plain
  // thread in ping-pong: docs/benchmarks.md). Costs up to ~5 µs of CPU each time the shard
  // goes idle. Both 0: sleep at once. A host-driven loop (balrog/event_loop.hpp: the Python
  // hub) never spins: a signal during the spin would not end its turn (no EINTR).
  unsigned idle_spin_pauses = 64;
  unsigned idle_spin_yields = 4;
  // Guarded stacks kept per stack size for reuse (each keeps the pages it touched, so a
  // spawn needs no mmap). 0: every ended fiber's stack is unmapped.
  std::size_t cached_guarded_stacks = 1024;
  // Freed fiber context blocks (a context and its task, up to 1 KiB) kept per 64-byte size
  // class, so spawning costs no malloc: at most 4 MiB per shard with the default. 0: none.
  std::uint32_t cached_context_blocks = 256;
};

struct runtime_options {
  // Shards, each a thread with a scheduler and a reactor; the caller of run() is shard 0.
  // 0 means one per CPU (std::thread::hardware_concurrency()). Each costs a thread, an epoll
  // instance and an eventfd; idle shards sleep in epoll_wait.
  std::size_t threads = 1;
  // The main fiber's options (shard 0).
  fiber_options main{.name = "main"};
  // Every shard's scheduler tunables (above).
  shard_options shard{};
  // Process-wide settings, applied when run() starts (the pool and the watchdog serve every
  // runtime of the process, so the last run() to start decides):
  //  - the most threads the offload pool grows to (balrog/offload.hpp); 0 leaves the
  //    current limit (offload_max_threads, 64, unless changed). Threads already started stay.
  std::size_t offload_threads = 0;
  //  - the watchdog (balrog/debug.hpp: threshold, printing, hook, stack capture); unset leaves
  //    the current settings (set_watchdog).
  std::optional<watchdog_options> watchdog{};
};

namespace detail {
void run_shards(fiber_task& main, const runtime_options& options);
// spawn_on's two steps (see prepare_fiber in fiber.hpp). Throw usage_error outside a runtime or
// for a shard that does not exist.
fiber_slot prepare_fiber_on(std::size_t shard, std::size_t task_size, std::size_t task_align,
                            fiber_options options);
}  // namespace detail

class runtime {
 public:
  explicit runtime(runtime_options options = {}) : options_(std::move(options)) {}

  template <class F>
  auto run(F&& fn) -> std::invoke_result_t<std::decay_t<F>> {
    using T = std::invoke_result_t<std::decay_t<F>>;
    static_assert(!std::is_reference_v<T>, "runtime::run cannot return a reference");
    detail::fiber_task_impl<T, std::decay_t<F>> task(std::decay_t<F>(std::forward<F>(fn)));
    detail::run_shards(task, options_);
    return task.take();
  }

  [[nodiscard]] const runtime_options& options() const noexcept { return options_; }

 private:
  runtime_options options_;
};

// Starts fn on a new fiber of shard `shard` of the current runtime (any shard may target any
// other, itself included). Returns at once; the handle works from any shard. Throws
// usage_error outside a runtime or for a shard index out of range. If the shard has already
// stopped, or no stack can be had there, the fiber never runs and join() rethrows why.
template <class F>
auto spawn_on(std::size_t shard, F&& fn, fiber_options options = {})
    -> fiber<std::invoke_result_t<std::decay_t<F>>> {
  using T = std::invoke_result_t<std::decay_t<F>>;
  using task_t = detail::fiber_task_impl<T, std::decay_t<F>>;
  const detail::fiber_slot slot =
      detail::prepare_fiber_on(shard, sizeof(task_t), alignof(task_t), std::move(options));
  task_t* task = nullptr;
  try {
    task = ::new (slot.task_storage) task_t(std::decay_t<F>(std::forward<F>(fn)));
  } catch (...) {
    detail::abandon_fiber(slot.ctx);
    throw;
  }
  detail::start_fiber(slot.ctx, task);
  return fiber<T>(slot.ctx, task);
}

namespace this_shard {
// The calling fiber's (or task's) shard. Throws usage_error outside a runtime.
[[nodiscard]] std::size_t index();
// Shards of the current runtime; 0 outside any.
[[nodiscard]] std::size_t count() noexcept;
}  // namespace this_shard

}  // namespace balrog
