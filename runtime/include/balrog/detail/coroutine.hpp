// balrog/detail/coroutine.hpp — awaitable traits and the driver coroutine.
//
// A driver is the outermost coroutine of a chain balrog runs: it co_awaits one awaitable (a
// task<T>, or anything else) and keeps the outcome. balrog::await drives one on a fiber;
// spawn_task hands one to the scheduler's loop. When it completes it reports through
// driver_state, whoever resumed it last.
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

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

// --- the driver ----------------------------------------------------------------------------

// How a driver says it is done: `done` turns true, then on_done(arg) runs, on whatever context
// finished the chain (a foreign awaitable may resume it on another thread).
struct driver_state {
  std::atomic<bool> done{false};
  void (*on_done)(void* arg) noexcept = nullptr;
  void* on_done_arg = nullptr;
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
          driver_state& st = h.promise().state;
          st.done.store(true, std::memory_order_seq_cst);
          if (st.on_done != nullptr) st.on_done(st.on_done_arg);
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
