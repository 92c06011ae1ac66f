// balrog/task.hpp — C++20 coroutines on the shard's reactor.
//
//   balrog::task<int> fetch(balrog::net::stream& s) {
//     co_await balrog::sleep_for(10ms);
//     auto n = co_await s.async_read_some(buf);
//     co_return static_cast<int>(n);
//   }
//
// task<T> is a lazy coroutine: nothing runs until it is co_awaited (by another coroutine),
// driven by balrog::await (on a fiber or a plain thread, balrog/await.hpp), or started with
// spawn_task. Awaiting a task transfers control symmetrically, both into it and back out of
// it, so a chain of a million nested awaits runs in constant stack. Exceptions propagate out of
// co_await. Move-only; destroying a task that never ran frees it without running it.
//
// Inside coroutine code, wait with co_await: balrog::sleep_for/sleep_until (balrog/sleep.hpp),
// balrog::readable/writable (balrog/io.hpp), the async_ forms of balrog::net, co_await on a
// fiber<T> or task_handle<T> (joins it), co_await balrog::on_fiber(fn) for blocking-style code.
// A blocking-style call (this_fiber::sleep_for, mutex::lock, stream::read_some...) made inside
// coroutine code would stall the shard; it throws balrog::usage_error instead.
//
// GCC 12 caveat: an aggregate or closure temporary with non-trivial members (a struct holding
// a std::string, a lambda capturing one) passed by value inside a co_await full-expression is
// relocated with a bitwise copy, which corrupts members that point into themselves
// (std::string's small buffer). `co_await f(fiber_options{.name = "x"})` is the typical case.
// Create such arguments in a statement of their own. Clang is unaffected; balrog's own
// awaitable factories avoid the pattern.
//
// A coroutine's parameters live as long as its frame: for a task started with spawn_task, until
// its handle is joined or detached — not until co_return. A coroutine that takes a resource by
// value (a net::stream, a lock) should release it explicitly before it returns.
//
// A chain never moves: an awaitable foreign to balrog (completed by another library's thread or
// another shard) resumes it on the context that runs it, through that context's scheduler
// (await_transform; balrog/detail/coroutine.hpp), so thread-local state and the next balrog
// await stay on the chain's own shard.
//
// Deadlines and cancellation behave as for fibers: a deadline_scope opened inside a coroutine
// bounds the waits of its chain, and task_handle::cancel() makes the current or next co_await
// throw balrog::cancelled.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "balrog/detail/coroutine.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "balrog/fiber.hpp"

namespace balrog {

template <class T = void>
class [[nodiscard]] task {
 public:
  struct promise_type : detail::fiber_result<T>, detail::returns_value<promise_type, T> {
    std::coroutine_handle<> continuation = std::noop_coroutine();

    task get_return_object() noexcept {
      return task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct transfer {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          return h.promise().continuation;  // symmetric transfer back to the awaiter
        }
        void await_resume() noexcept {}
      };
      return transfer{};
    }
    void unhandled_exception() noexcept {
      this->outcome_.template emplace<2>(std::current_exception());
    }
    template <class... U>
    void set_value(U&&... v) {
      this->outcome_.template emplace<1>(std::forward<U>(v)...);
    }
    void run() noexcept override {}  // fiber_task's hook; a task runs by being resumed
    // Awaitables foreign to balrog resume the chain on its own context (coroutine.hpp).
    template <class A>
    decltype(auto) await_transform(A&& a) {
      return detail::home_after(std::forward<A>(a));
    }
  };

  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (handle_) handle_.destroy();
  }

  // What co_await on a task suspends in: balrog's own, so it resumes the chain at home.
  struct awaiter {
    using balrog_resumes_home = void;
    std::coroutine_handle<promise_type> h;
    bool await_ready() const noexcept { return !h || h.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
      h.promise().continuation = parent;
      return h;  // symmetric transfer into the task
    }
    T await_resume() {
      if (!h) detail::throw_empty_handle("co_await on an empty task");
      return h.promise().take();
    }
  };

  // co_await std::move(t) or co_await make_task(): runs it, yields its value or rethrows.
  awaiter operator co_await() && noexcept { return awaiter{handle_}; }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

 private:
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

// A handle to a task started with spawn_task. Same rules as fiber<T> (balrog/fiber.hpp):
// join() from a fiber or thread, co_await from a coroutine, detach(), cancel(); dropping a
// joinable handle cancels and joins.
template <class T>
class task_handle : public detail::join_handle<T> {
 public:
  using detail::join_handle<T>::join_handle;
};

namespace detail {

// Registers a task on this thread's scheduler; returns it with one reference for the handle.
// Throws usage_error off-runtime.
joinable_context* start_task(std::coroutine_handle<> driver, fiber_task* outcome,
                             driver_state& state, fiber_options options);

// Waiting for a fiber or task to finish, from coroutine code.
class finish_awaiter {
 public:
  using balrog_resumes_home = void;
  explicit finish_awaiter(joinable_context* j) : j_(j) {}
  bool await_ready() const;
  bool await_suspend(std::coroutine_handle<> h);  // false: it finished meanwhile
  // Throws cancelled, timeout_error (deadline_scope); the handle stays joinable then.
  void await_resume();

 private:
  joinable_context* j_;
  std::optional<waiter> waiter_;
};

template <class T>
class join_awaiter {
 public:
  using balrog_resumes_home = void;
  explicit join_awaiter(join_handle<T>& h) : h_(h), finish_(checked(h)) {}
  bool await_ready() const { return finish_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> c) { return finish_.await_suspend(c); }
  T await_resume() {
    finish_.await_resume();
    return h_.take();
  }

 private:
  static joinable_context* checked(join_handle<T>& h) {
    if (!h.joinable()) throw_empty_handle("co_await");
    return h.context();
  }
  join_handle<T>& h_;
  finish_awaiter finish_;
};

}  // namespace detail

// co_await on a handle joins: yields the value or rethrows, and empties the handle.
template <class T>
detail::join_awaiter<T> operator co_await(fiber<T>& h) {
  return detail::join_awaiter<T>(h);
}
template <class T>
detail::join_awaiter<T> operator co_await(task_handle<T>& h) {
  return detail::join_awaiter<T>(h);
}

// Starts `t` on this thread's scheduler; its code runs on the scheduler's loop, resumed by
// the reactor whenever what it awaits is ready. Throws usage_error outside balrog::run.
// `options.name` names it for dumps; the stack fields do not apply (coroutines have none).
template <class T>
task_handle<T> spawn_task(task<T> t, fiber_options options = {}) {
  auto d = detail::drive_awaitable<T, task<T>>(std::move(t));
  auto& promise = d.promise();
  detail::joinable_context* ctx =
      detail::start_task(d.handle(), &promise, promise.state, std::move(options));
  d.release();  // the task context owns the frame now
  return task_handle<T>(ctx, &promise);
}

}  // namespace balrog
