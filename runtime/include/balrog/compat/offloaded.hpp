// balrog/compat/offloaded.hpp — any blocking call, run on the offload pool while only the
// calling fiber waits.
//
//   int rc = balrog::compat::offloaded<&::fsync>(fd);          // was: fsync(fd)
//   pid_t p = balrog::compat::offloaded<&::waitpid>(pid, &status, 0);
//   auto n = balrog::compat::offloaded<&db::client::fetch>(client, key);  // obj.fetch(key)
//
// balrog-gen's `offload` map entries (passes/maps/posix-offload.yaml, ...) rewrite calls of
// functions that cannot be made non-blocking (fsync, flock, waitpid, system, popen...) to it.
// offloaded<&fn>(args...) is fn(args...) with fn's own result, errno and exceptions:
//
//  - Plain thread (sync mode): fn is called directly.
//  - On a fiber: fn runs on balrog's offload pool (balrog/offload.hpp) with the caller's own
//    arguments (pointers into the fiber's stack included), errno copied in and back. The fiber
//    waits until fn returns, whatever happens meanwhile: the call uses the caller's memory, so
//    neither cancellation nor a deadline_scope ends the wait early (they take effect at the
//    fiber's next suspension point). Other fibers of the shard keep running.
//  - Inside C++20 coroutine code (a balrog::task, a chain driven by balrog::await): fn is called
//    directly and blocks the shard, as the original did (balrog-gen never rewrites blocking
//    calls there; the watchdog names such stalls). Use co_await balrog::offload-style code.
//
// fn is a template argument: a function (`&::fsync`) or a member function (`&C::f`, called
// with the object first, as std::invoke does).
#pragma once

#include <cerrno>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "balrog/fiber.hpp"

namespace balrog::compat {

namespace detail {
// True on a fiber outside coroutine code: where offloaded() runs the call on the pool.
[[nodiscard]] bool offload_applies() noexcept;
// Runs `task` on the offload pool and waits until it ran, ignoring cancellation and deadlines.
void run_offloaded_to_completion(std::shared_ptr<balrog::detail::fiber_task> task);
}  // namespace detail

// GCC: a function declared with attributes (glibc's sem_wait is nonnull) has them on its type,
// which it warns are dropped when decltype(Fn) is a template argument; they do not matter here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
template <auto Fn, class... Args>
auto offloaded(Args&&... args) -> std::invoke_result_t<decltype(Fn), Args&&...> {
  using result = std::invoke_result_t<decltype(Fn), Args&&...>;
  if (!detail::offload_applies()) return std::invoke(Fn, std::forward<Args>(args)...);
  // A reference result travels as a pointer.
  using stored = std::conditional_t<std::is_reference_v<result>,
                                    std::add_pointer_t<std::remove_reference_t<result>>, result>;
  const int errno_in = errno;
  int errno_out = errno_in;
  auto call = [&]() -> stored {
    errno = errno_in;  // calls that report by "errno still 0" (readdir) see the caller's
    struct keep_errno {
      int& out;
      ~keep_errno() { out = errno; }
    } keep{errno_out};
    if constexpr (std::is_reference_v<result>) {
      return &std::invoke(Fn, std::forward<Args>(args)...);
    } else {
      return std::invoke(Fn, std::forward<Args>(args)...);
    }
  };
  auto task =
      std::make_shared<balrog::detail::fiber_task_impl<stored, decltype(call)>>(std::move(call));
  detail::run_offloaded_to_completion(task);
  errno = errno_out;
  if constexpr (std::is_reference_v<result>) {
    return static_cast<result>(*task->take());
  } else {
    return task->take();
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace balrog::compat
