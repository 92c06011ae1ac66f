// balrog/run.hpp — entering the runtime on the calling thread.
//
//   int main() {
//     return balrog::run([] { ... blocking-style code on fibers ... });
//   }
//
// run(fn) creates a scheduler and a reactor on the calling thread, runs fn on a fiber (the
// "main" fiber, guarded stack of the default size), and returns when fn and every
// non-detached fiber have finished. It returns fn's value or rethrows fn's exception.
// Detached fibers still alive at that point are cancelled and run() waits until they unwind.
//
// One run() per thread at a time: calling it on a fiber (nested) throws usage_error. Several
// threads may each have their own run().
#pragma once

#include <type_traits>
#include <utility>

#include "balrog/fiber.hpp"

namespace balrog {

namespace detail {
// Runs a scheduler on this thread until `main` and all non-detached fibers are done.
void run_scheduler(fiber_task& main, fiber_options options);
// The same on this thread's cached one-shard scheduler (sync mode: block_on), made on the
// thread's first call and kept, idle, until the thread exits.
void run_sync(fiber_task& main, fiber_options options);
}  // namespace detail

template <class F>
auto run(F&& fn, fiber_options main_options = {.name = "main"})
    -> std::invoke_result_t<std::decay_t<F>> {
  using T = std::invoke_result_t<std::decay_t<F>>;
  static_assert(!std::is_reference_v<T>, "balrog::run cannot return a reference");
  detail::fiber_task_impl<T, std::decay_t<F>> task(std::decay_t<F>(std::forward<F>(fn)));
  detail::run_scheduler(task, std::move(main_options));
  return task.take();
}

}  // namespace balrog
