// balrog/await.hpp — the bridges between blocking-style code and coroutines.
//
//   // fiber or plain thread -> coroutine
//   int n = balrog::await(fetch(conn));
//
//   // coroutine -> fiber
//   auto rows = co_await balrog::on_fiber([&] { return legacy_blocking_query(); });
//
// await(x) accepts any awaitable: a balrog::task, a standard-conforming awaitable, or a
// coroutine type from another library. It returns what `co_await x` yields (as a value) or
// rethrows what it throws.
//  - On a fiber it runs x on the fiber: the fiber suspends while x waits, other fibers run.
//    It is C++'s twin of SQLAlchemy's await_only.
//  - On a plain thread with no runtime it runs a private scheduler and reactor until x is done
//    (block_on): sync mode.
//  - Inside coroutine code it throws usage_error: use co_await there.
// Cancellation of the awaiting fiber and its deadline_scope apply to the waits inside x.
// If x waits on something foreign to balrog (resumed by another library's thread), await
// waits for it to complete; balrog cannot interrupt such a wait.
//
// on_fiber(fn) returns a task that runs blocking-style fn on a new fiber of the current
// shard and completes with its value or exception (the twin of greenlet_spawn). If the awaiting
// coroutine is cancelled or its deadline passes, the fiber is cancelled and on_fiber still
// waits for it to end (fn may use the coroutine's objects) before throwing.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "balrog/detail/coroutine.hpp"
#include "balrog/detail/uninterruptible.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/task.hpp"

namespace balrog {

namespace detail {

enum class await_place { this_context, private_scheduler };
// Where await() may drive an awaitable from here; throws usage_error inside coroutine code or
// on a scheduler's loop.
await_place where_to_await();
// Runs the driver to completion on the calling fiber (or thread), waiting between its steps.
void drive_here(std::coroutine_handle<> start, driver_state& state);

}  // namespace detail

template <class A>
  requires detail::awaitable<A&&>
detail::await_result_t<A&&> block_on(A&& a);

template <class A>
  requires detail::awaitable<A&&>
detail::await_result_t<A&&> await(A&& a) {
  using R = detail::await_result_t<A&&>;
  if (detail::where_to_await() == detail::await_place::private_scheduler) {
    return block_on(std::forward<A>(a));
  }
  auto d = detail::drive_awaitable<R, A&&>(std::forward<A>(a));
  detail::drive_here(d.handle(), d.promise().state);
  return d.promise().take();
}

// Runs a private scheduler on this thread until `a` is done (balrog::run + await). Throws
// usage_error where a scheduler already runs on this thread (use await there). The scheduler
// is the thread's cached one (made by its first block_on, kept until the thread exits), so a
// call costs a fiber, not a scheduler, a reactor and their file descriptors.
template <class A>
  requires detail::awaitable<A&&>
detail::await_result_t<A&&> block_on(A&& a) {
  using R = detail::await_result_t<A&&>;
  auto body = [&a]() -> R { return balrog::await(std::forward<A>(a)); };
  detail::fiber_task_impl<R, decltype(body)> task(std::move(body));
  detail::run_sync(task, {.name = "block_on"});
  return task.take();
}

namespace detail {

template <class R, class F>
task<R> run_on_fiber(F fn, fiber_options options) {
  auto f = spawn(std::move(fn), std::move(options));
  std::exception_ptr interrupted;
  try {
    co_await finish_awaiter(f.context());
  } catch (...) {
    interrupted = std::current_exception();  // cancelled, or our deadline_scope passed
  }
  if (interrupted) {
    f.cancel();
    {
      uninterruptible wait_for_it(current_context());
      co_await finish_awaiter(f.context());
    }
    std::rethrow_exception(interrupted);
  }
  co_return f.join();  // finished: does not suspend
}

}  // namespace detail

// Two overloads rather than a default argument, and neither is a coroutine: GCC 12 relocates
// class-type temporaries created for by-value arguments inside a co_await full-expression with a
// bitwise copy, which corrupts a std::string (fiber_options::name). With these overloads
// `co_await on_fiber(fn)` creates no such temporary. If you pass options, build them in a
// statement of their own (`fiber_options o{.name = "x"}; co_await on_fiber(fn, std::move(o));`);
// the same applies to any function you call inside co_await under GCC 12. Clang is unaffected.
template <class F>
task<std::invoke_result_t<std::decay_t<F>>> on_fiber(F fn) {
  return detail::run_on_fiber<std::invoke_result_t<std::decay_t<F>>>(std::move(fn),
                                                                     fiber_options{});
}
template <class F>
task<std::invoke_result_t<std::decay_t<F>>> on_fiber(F fn, fiber_options options) {
  return detail::run_on_fiber<std::invoke_result_t<std::decay_t<F>>>(std::move(fn),
                                                                     std::move(options));
}

}  // namespace balrog
