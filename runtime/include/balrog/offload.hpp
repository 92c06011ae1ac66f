// balrog/offload.hpp — running a truly blocking call without blocking the shard.
//
//   auto addrs = balrog::offload([host] { return blocking_lookup(host); });
//
// offload(fn) runs fn on balrog's process-wide pool of helper threads while the calling fiber
// waits (other fibers keep running). It returns fn's value or rethrows fn's exception. Use it
// for calls that cannot be made non-blocking: getaddrinfo, file I/O, CPU-heavy work, a
// library's blocking API. On a plain thread (sync mode) it works the same and blocks the thread.
//
// The wait is a suspension point: it throws cancelled when the fiber is cancelled and
// timeout_error when an enclosing deadline_scope passes. The call itself cannot be interrupted:
// fn keeps running on the pool and its outcome is dropped. So fn must not refer to the
// caller's stack — capture by value (offload copies or moves fn into the job).
//
// The pool starts its first thread on first use and grows, one thread per job that finds every
// thread busy, up to offload_max_threads (runtime_options::offload_threads changes it); idle
// threads stay for reuse.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include "balrog/fiber.hpp"

namespace balrog {

inline constexpr std::size_t offload_max_threads = 64;

namespace detail {
// Runs `task` on the pool and waits for it (see above).
void run_offloaded(std::shared_ptr<fiber_task> task);
}  // namespace detail

template <class F>
auto offload(F&& fn) -> std::invoke_result_t<std::decay_t<F>> {
  using T = std::invoke_result_t<std::decay_t<F>>;
  static_assert(!std::is_reference_v<T>, "offload cannot return a reference");
  auto task = std::make_shared<detail::fiber_task_impl<T, std::decay_t<F>>>(
      std::decay_t<F>(std::forward<F>(fn)));
  detail::run_offloaded(task);
  return task->take();
}

}  // namespace balrog
