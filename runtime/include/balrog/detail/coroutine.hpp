// balrog/detail/coroutine.hpp — awaitable traits and the driver coroutine.
//
// A driver is the outermost coroutine of a chain balrog runs: it co_awaits one awaitable (a
// task<T>, or anything else) and keeps the outcome. balrog::await drives one on a fiber;
// spawn_task hands one to the scheduler's loop. When it completes it reports through
// driver_state, whoever resumed it last.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>

#include "balrog/detail/execution_context.hpp"
#include "balrog/fiber.hpp"

namespace balrog::detail {

// --- awaitable traits ----------------------------------------------------------------------

template <class A>
concept has_member_co_await = requires(A&& a) { std::forward<A>(a).operator co_await(); };
template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(std::forward<A>(a)); };

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (has_member_co_await<A>) {
    return std::forward<A>(a).operator co_await();
  } else if constexpr (has_free_co_await<A>) {
    return operator co_await(std::forward<A>(a));
  } else {
    return std::forward<A>(a);
  }
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

// What `co_await a` yields, decayed (balrog::await returns values, not references).
template <class A>
using await_result_t = std::remove_cvref_t<decltype(std::declval<awaiter_t<A>&>().await_resume())>;

template <class A>
concept awaitable = requires(awaiter_t<A>& w, std::coroutine_handle<> h) {
  { w.await_ready() } -> std::convertible_to<bool>;
  w.await_resume();
};

// --- coming home after a foreign awaitable -------------------------------------------------
//
// A coroutine chain belongs to the context that runs it (a fiber inside balrog::await, or a
// spawn_task task on its shard's loop), like a fiber belongs to its thread: its thread-local
// state (errno, libpq, OpenSSL) and its next balrog await are that context's. balrog's own
// awaitables resume the chain there by construction (the wait protocol); they say so with
// `using balrog_resumes_home = void;`. Any other awaitable may resume the chain wherever it
// completes (another thread, another shard's fiber), so task<T> and the driver wrap it
// (await_transform): it gets a trampoline, which resumes the chain at once if it runs on the
// chain's own context and otherwise posts the chain back to it (folly's co_viaIfAsync).

template <class W>
concept resumes_home = requires { typename std::remove_cvref_t<W>::balrog_resumes_home; };

// The trampoline's decision (coroutine_bridge.cpp): `cont` if the caller runs as `home`, else
// posts `cont` to home's runner and returns noop. Its last touch of anything shared is the post.
std::coroutine_handle<> come_home(execution_context* home, std::coroutine_handle<> cont) noexcept;

class trampoline {
 public:
  struct promise_type {
    execution_context* home = nullptr;
    std::coroutine_handle<> cont;
    trampoline get_return_object() noexcept {
      return trampoline(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct go_home {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          promise_type& p = h.promise();
          return come_home(p.home, p.cont);  // the frame is suspended: its owner may free it
        }
        void await_resume() noexcept {}
      };
      return go_home{};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
  trampoline() noexcept = default;
  trampoline(trampoline&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  trampoline& operator=(trampoline&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~trampoline() {
    if (h_) h_.destroy();
  }
  [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return h_; }

 private:
  explicit trampoline(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

inline trampoline make_trampoline() { co_return; }

// A foreign awaiter (by value, or a reference when the awaitable is its own awaiter) whose
// resumption comes home first.
template <class Inner>
struct homing_awaiter {
  Inner inner;
  trampoline back{};

  bool await_ready() { return static_cast<bool>(inner.await_ready()); }
  auto await_suspend(std::coroutine_handle<> h) {
    back = make_trampoline();
    back.handle().promise().home = &current_context();
    back.handle().promise().cont = h;
    return inner.await_suspend(back.handle());
  }
  decltype(auto) await_resume() { return inner.await_resume(); }
};

// await_transform of task<T> and the driver.
template <class A>
decltype(auto) home_after(A&& a) {
  if constexpr (resumes_home<awaiter_t<A&&>>) {
    return std::forward<A>(a);
  } else {
    return homing_awaiter<awaiter_t<A&&>>{get_awaiter(std::forward<A>(a))};
  }
}

// --- the driver ----------------------------------------------------------------------------

// How a driver says it is done, in one atomic hand-off (folly Baton::post's "last touch"
// rule). Whoever runs the driver (a fiber in balrog::await, the loop for spawn_task) clears
// `word` before each resume; when a resume returns without completing, it sets `parked` (a
// CAS from 0) and waits to be told. Whoever completes the chain (maybe a foreign awaitable on
// another thread) reads on_done and its argument first, then sets `done`, and calls on_done
// only if the runner had parked. Otherwise the runner sees `done` by itself and may free the
// frame at once: the completer touches nothing after its fetch_or.
struct driver_state {
  static constexpr std::uint32_t done = 1;
  static constexpr std::uint32_t parked = 2;
  std::atomic<std::uint32_t> word{0};
  void (*on_done)(void* arg) noexcept = nullptr;
  void* on_done_arg = nullptr;

  [[nodiscard]] bool is_done() const noexcept {
    return (word.load(std::memory_order_acquire) & done) != 0;
  }
  // The runner, after a resume that did not complete: true if it must wait for on_done, false
  // if the chain completed meanwhile.
  bool park() noexcept {
    std::uint32_t expected = 0;
    return word.compare_exchange_strong(expected, parked, std::memory_order_acq_rel,
                                        std::memory_order_acquire);
  }
  // The runner, before resuming the chain itself (a balrog awaitable woke it).
  void unpark() noexcept { word.store(0, std::memory_order_relaxed); }
  // The completer (final_suspend of the driver).
  void complete() noexcept {
    void (*const fn)(void*) noexcept = on_done;
    void* const arg = on_done_arg;
    const std::uint32_t old = word.fetch_or(done, std::memory_order_acq_rel);
    if ((old & parked) != 0 && fn != nullptr) fn(arg);  // the runner waits for this call
  }
};

// co_return for a value (return_value) or for void (return_void): a promise has exactly one.
template <class Promise, class T>
struct returns_value {
  template <class U = T>
  void return_value(U&& v) {
    static_cast<Promise*>(this)->set_value(std::forward<U>(v));
  }
};
template <class Promise>
struct returns_value<Promise, void> {
  void return_void() { static_cast<Promise*>(this)->set_value(); }
};

template <class T>
class driver {
 public:
  struct promise_type : fiber_result<T>, returns_value<promise_type, T> {
    driver_state state;

    driver get_return_object() noexcept {
      return driver(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct report {
        bool await_ready() noexcept { return false; }
        void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          h.promise().state.complete();  // the last touch of the frame
        }
        void await_resume() noexcept {}
      };
      return report{};
    }
    void unhandled_exception() noexcept {
      this->outcome_.template emplace<2>(std::current_exception());
    }
    template <class... U>
    void set_value(U&&... v) {
      this->outcome_.template emplace<1>(std::forward<U>(v)...);
    }
    void run() noexcept override {}  // fiber_task's hook; a driver runs by being resumed
    template <class A>
    decltype(auto) await_transform(A&& a) {
      return home_after(std::forward<A>(a));
    }
  };

  driver(driver&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  driver(const driver&) = delete;
  driver& operator=(const driver&) = delete;
  ~driver() {
    if (handle_) handle_.destroy();
  }

  [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }
  promise_type& promise() const noexcept { return handle_.promise(); }
  // Gives the frame away (spawn_task: the task context destroys it).
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, {}); }

 private:
  explicit driver(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

template <class R, class A>
driver<R> drive_awaitable(A a) {
  if constexpr (std::is_void_v<R>) {
    co_await std::forward<A>(a);
  } else {
    co_return co_await std::forward<A>(a);
  }
}

}  // namespace balrog::detail
