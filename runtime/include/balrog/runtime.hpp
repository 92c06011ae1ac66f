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
// fn's value or rethrows fn's exception. balrog::run(fn) is the one-shard case.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "balrog/fiber.hpp"
#include "balrog/run.hpp"

namespace balrog {

struct runtime_options {
  // Shards, each a thread with a scheduler and a reactor; the caller of run() is shard 0.
  // 0 means one per CPU (std::thread::hardware_concurrency()). Each costs a thread, an epoll
  // instance and an eventfd; idle shards sleep in epoll_wait.
  std::size_t threads = 1;
  // The main fiber's options (shard 0).
  fiber_options main{.name = "main"};
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
