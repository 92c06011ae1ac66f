// balrog/future.hpp — std::future, std::shared_future, std::promise, std::packaged_task and
// std::async twins whose waits suspend fibers and whose async tasks are fibers.
//
// std::future::get() blocks the thread: on a fiber it stalls every fiber of the shard, and
// hangs it when the value comes from one of them. These twins have the std API and semantics;
// their waits (get, wait, wait_for, wait_until) suspend only the waiting fiber, and they work
// on plain threads (sync mode) and across shards. balrog-gen's sync-types pass rewrites
// std::future, std::shared_future, std::promise, std::packaged_task and std::async to them.
//
// balrog::async(policy, f, args...):
//  - std::launch::async in the policy (also the default policy, async | deferred, which the
//    standard lets the implementation choose and libstdc++ runs as async): on a fiber, f runs
//    on a new fiber of the current shard (never another thread: use shards for cores); anywhere
//    else on a new std::thread, as std::async does. As with std::async, the last future of the
//    task waits for it to finish when destroyed.
//  - std::launch::deferred alone: f runs in the first get() or wait() of a future of the task,
//    on the caller; wait_for and wait_until return std::future_status::deferred, as std's.
//
// Waits are suspension points on a fiber: balrog::cancelled, balrog::timeout_error from an
// enclosing deadline_scope; wait_for and wait_until return std::future_status::timeout when
// their own time is up. Errors are std::future_error with the std codes (broken_promise,
// promise_already_satisfied, future_already_retrieved, no_state). A balrog::cancelled ending an
// async fiber (balrog::run ending, fiber cancelled) is stored like any other exception.
//
// Not provided: set_value_at_thread_exit, set_exception_at_thread_exit and
// make_ready_at_thread_exit (there is no "thread exit" of a fiber), allocator constructors.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/gate.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/fiber.hpp"

namespace balrog {

template <class R>
class future;
template <class R>
class shared_future;
template <class R>
class promise;
template <class Signature>
class packaged_task;

namespace detail {

// How a result of type R is kept: R itself, a pointer for R&, nothing for void.
template <class R>
struct future_storage {
  using type = R;
};
template <class R>
struct future_storage<R&> {
  using type = R*;
};
template <>
struct future_storage<void> {
  using type = std::monostate;
};

class deferred_call {
 public:
  virtual ~deferred_call() = default;
  virtual void run() = 0;
};

template <class R>
class future_state {
 public:
  using stored = typename future_storage<R>::type;

  // Stores the value or the exception and wakes every waiter; false when already satisfied.
  template <class... V>
  bool set_value(V&&... v) {
    if (satisfied_.exchange(true, std::memory_order_acq_rel)) return false;
    value_.emplace(std::forward<V>(v)...);
    ready_.open();
    return true;
  }
  bool set_exception(std::exception_ptr e) {
    if (satisfied_.exchange(true, std::memory_order_acq_rel)) return false;
    error_ = std::move(e);
    ready_.open();
    return true;
  }
  [[nodiscard]] bool satisfied() const noexcept {
    return satisfied_.load(std::memory_order_acquire);
  }

  // Waits until ready (running a deferred function first). Suspension point.
  void wait() {
    run_deferred();
    ready_.wait(deadline::never(), "future");
  }
  template <class Clock, class Duration>
  std::future_status wait_until(std::chrono::time_point<Clock, Duration> t) {
    {
      std::lock_guard lk(deferred_lock_);
      if (deferred_) return std::future_status::deferred;
    }
    return ready_.wait(deadline(t), "future") ? std::future_status::ready
                                              : std::future_status::timeout;
  }
  [[nodiscard]] bool is_ready() const noexcept { return ready_.is_open(); }

  // After wait(): the value (rethrows the stored exception).
  stored& value() {
    if (error_) std::rethrow_exception(error_);
    return *value_;
  }

  void defer(std::unique_ptr<deferred_call> call) { deferred_ = std::move(call); }

  // For std::async's rule: the last future of an async task waits for it when destroyed.
  bool from_async = false;
  std::atomic<int> futures{0};

 private:
  void run_deferred() {
    std::unique_ptr<deferred_call> call;
    {
      std::lock_guard lk(deferred_lock_);
      call = std::move(deferred_);
    }
    if (call) call->run();  // sets the value or the exception; other waiters wait for it
  }

  std::atomic<bool> satisfied_{false};
  std::optional<stored> value_;
  std::exception_ptr error_;
  gate ready_;
  spinlock deferred_lock_;
  std::unique_ptr<deferred_call> deferred_;
};

// Calls f(args...) and stores its result or exception in `state`.
template <class R, class F>
void fulfil(future_state<R>& state, F&& f) {
  try {
    if constexpr (std::is_void_v<R>) {
      std::forward<F>(f)();
      state.set_value();
    } else if constexpr (std::is_reference_v<R>) {
      state.set_value(std::addressof(std::forward<F>(f)()));
    } else {
      state.set_value(std::forward<F>(f)());
    }
  } catch (...) {
    state.set_exception(std::current_exception());
  }
}

[[noreturn]] inline void throw_future_error(std::future_errc e) { throw std::future_error(e); }

// What future and shared_future share: a counted reference to the state.
template <class R>
class future_base {
 public:
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(state_); }
  void wait() const { checked().wait(); }
  template <class Rep, class Period>
  std::future_status wait_for(std::chrono::duration<Rep, Period> d) const {
    return checked().wait_until(deadline(d).when());
  }
  template <class Clock, class Duration>
  std::future_status wait_until(std::chrono::time_point<Clock, Duration> t) const {
    return checked().wait_until(t);
  }

 protected:
  future_base() noexcept = default;
  explicit future_base(std::shared_ptr<future_state<R>> s) noexcept : state_(std::move(s)) {
    if (state_) state_->futures.fetch_add(1, std::memory_order_relaxed);
  }
  future_base(const future_base& o) noexcept : future_base(o.state_) {}
  future_base(future_base&& o) noexcept : state_(std::move(o.state_)) {}
  future_base& operator=(const future_base& o) noexcept {
    if (this != &o) {
      release();
      state_ = o.state_;
      if (state_) state_->futures.fetch_add(1, std::memory_order_relaxed);
    }
    return *this;
  }
  future_base& operator=(future_base&& o) noexcept {
    if (this != &o) {
      release();
      state_ = std::move(o.state_);
    }
    return *this;
  }
  ~future_base() { release(); }

  future_state<R>& checked() const {
    if (!state_) throw_future_error(std::future_errc::no_state);
    return *state_;
  }

  // Drops the reference; the last future of an async task waits for the task first.
  void release() noexcept {
    if (!state_) return;
    if (state_->futures.fetch_sub(1, std::memory_order_acq_rel) == 1 && state_->from_async) {
      try {
        state_->wait();
      } catch (...) {  // cancelled while waiting: the task keeps its own reference
      }
    }
    state_.reset();
  }

  std::shared_ptr<future_state<R>> state_;
};

}  // namespace detail

template <class R>
class future : public detail::future_base<R> {
  using base = detail::future_base<R>;

 public:
  future() noexcept = default;
  future(future&&) noexcept = default;
  future& operator=(future&&) noexcept = default;
  future(const future&) = delete;
  future& operator=(const future&) = delete;

  // Waits, then returns the value (or rethrows the exception); the future is then invalid.
  R get() {
    auto& s = this->checked();
    s.wait();
    struct invalidate {
      future* f;
      ~invalidate() { f->release(); }
    } done{this};
    if constexpr (std::is_void_v<R>) {
      s.value();
    } else if constexpr (std::is_reference_v<R>) {
      return *s.value();
    } else {
      return std::move(s.value());
    }
  }

  shared_future<R> share() noexcept { return shared_future<R>(std::move(*this)); }

 private:
  template <class>
  friend class promise;
  template <class>
  friend class packaged_task;
  template <class>
  friend class shared_future;
  template <class F, class... Args>
  friend auto async(std::launch policy, F&& f, Args&&... args)
      -> future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;
  explicit future(std::shared_ptr<detail::future_state<R>> s) noexcept : base(std::move(s)) {}
};

template <class R>
class shared_future : public detail::future_base<R> {
  using base = detail::future_base<R>;

 public:
  shared_future() noexcept = default;
  shared_future(const shared_future&) noexcept = default;
  shared_future(shared_future&&) noexcept = default;
  shared_future& operator=(const shared_future&) noexcept = default;
  shared_future& operator=(shared_future&&) noexcept = default;
  // NOLINTNEXTLINE(google-explicit-constructor): std's is implicit too
  shared_future(future<R>&& f) noexcept : base(std::move(f)) {}

  // Waits, then returns the value (or rethrows the exception); stays valid.
  decltype(auto) get() const {
    auto& s = this->checked();
    s.wait();
    if constexpr (std::is_void_v<R>) {
      s.value();
    } else if constexpr (std::is_reference_v<R>) {
      return static_cast<R>(*s.value());
    } else {
      return static_cast<const R&>(s.value());
    }
  }
};

template <class R>
class promise {
 public:
  promise() : state_(std::make_shared<detail::future_state<R>>()) {}
  promise(promise&&) noexcept = default;
  promise& operator=(promise&& o) noexcept {
    if (this != &o) {
      abandon();
      state_ = std::move(o.state_);
      retrieved_ = o.retrieved_;
    }
    return *this;
  }
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;
  ~promise() { abandon(); }

  void swap(promise& o) noexcept {
    std::swap(state_, o.state_);
    std::swap(retrieved_, o.retrieved_);
  }

  future<R> get_future() {
    if (!state_) detail::throw_future_error(std::future_errc::no_state);
    if (retrieved_) detail::throw_future_error(std::future_errc::future_already_retrieved);
    retrieved_ = true;
    return future<R>(state_);
  }

  template <class... V>
    requires(sizeof...(V) == (std::is_void_v<R> ? 0 : 1))
  void set_value(V&&... v) {
    if (!state_) detail::throw_future_error(std::future_errc::no_state);
    bool ok = false;
    if constexpr (std::is_reference_v<R>) {
      ok = state_->set_value(std::addressof(v)...);
    } else {
      ok = state_->set_value(std::forward<V>(v)...);
    }
    if (!ok) detail::throw_future_error(std::future_errc::promise_already_satisfied);
  }
  void set_exception(std::exception_ptr e) {
    if (!state_) detail::throw_future_error(std::future_errc::no_state);
    if (!state_->set_exception(std::move(e))) {
      detail::throw_future_error(std::future_errc::promise_already_satisfied);
    }
  }

 private:
  void abandon() noexcept {
    if (state_ && !state_->satisfied()) {
      state_->set_exception(
          std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
    }
  }

  std::shared_ptr<detail::future_state<R>> state_;
  bool retrieved_ = false;
};

template <class R>
void swap(promise<R>& a, promise<R>& b) noexcept {
  a.swap(b);
}

template <class R, class... Args>
class packaged_task<R(Args...)> {
 public:
  packaged_task() noexcept = default;
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, packaged_task> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  explicit packaged_task(F&& f)
      : fn_(std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f))),
        state_(std::make_shared<detail::future_state<R>>()) {}
  packaged_task(packaged_task&&) noexcept = default;
  packaged_task& operator=(packaged_task&& o) noexcept {
    if (this != &o) {
      abandon();
      fn_ = std::move(o.fn_);
      state_ = std::move(o.state_);
      retrieved_ = o.retrieved_;
    }
    return *this;
  }
  packaged_task(const packaged_task&) = delete;
  packaged_task& operator=(const packaged_task&) = delete;
  ~packaged_task() { abandon(); }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(state_); }
  void swap(packaged_task& o) noexcept {
    std::swap(fn_, o.fn_);
    std::swap(state_, o.state_);
    std::swap(retrieved_, o.retrieved_);
  }

  future<R> get_future() {
    if (!state_) detail::throw_future_error(std::future_errc::no_state);
    if (retrieved_) detail::throw_future_error(std::future_errc::future_already_retrieved);
    retrieved_ = true;
    return future<R>(state_);
  }

  void operator()(Args... args) {
    if (!state_) detail::throw_future_error(std::future_errc::no_state);
    if (state_->satisfied()) {
      detail::throw_future_error(std::future_errc::promise_already_satisfied);
    }
    detail::fulfil(*state_, [&]() -> R { return fn_->call(std::forward<Args>(args)...); });
  }

  // A fresh shared state with the same function (the old one's futures see broken_promise if
  // it never ran).
  void reset() {
    if (!state_) detail::throw_future_error(std::future_errc::no_state);
    abandon();
    state_ = std::make_shared<detail::future_state<R>>();
    retrieved_ = false;
  }

 private:
  struct callable {
    virtual ~callable() = default;
    virtual R call(Args&&... args) = 0;
  };
  template <class F>
  struct holder final : callable {
    explicit holder(F&& f) : fn(std::move(f)) {}
    explicit holder(const F& f) : fn(f) {}
    R call(Args&&... args) override {
      if constexpr (std::is_void_v<R>) {
        std::invoke(fn, std::forward<Args>(args)...);
      } else {
        return std::invoke(fn, std::forward<Args>(args)...);
      }
    }
    F fn;
  };

  void abandon() noexcept {
    if (state_ && !state_->satisfied()) {
      state_->set_exception(
          std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
    }
  }

  std::unique_ptr<callable> fn_;
  std::shared_ptr<detail::future_state<R>> state_;
  bool retrieved_ = false;
};

template <class R, class... Args>
void swap(packaged_task<R(Args...)>& a, packaged_task<R(Args...)>& b) noexcept {
  a.swap(b);
}

template <class F, class... Args>
auto async(std::launch policy, F&& f, Args&&... args)
    -> future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  auto state = std::make_shared<detail::future_state<R>>();
  auto call = [fn = std::decay_t<F>(std::forward<F>(f)),
               bound =
                   std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)]() mutable -> R {
    return std::apply(std::move(fn), std::move(bound));
  };
  if ((policy & std::launch::async) == std::launch::async) {
    state->from_async = true;
    auto body = [state, call = std::move(call)]() mutable {
      detail::fulfil(*state, std::move(call));
    };
    if (detail::current_context().is_fiber()) {
      spawn(std::move(body)).detach();
    } else {
      std::thread(std::move(body)).detach();
    }
  } else {
    struct deferred final : detail::deferred_call {
      deferred(detail::future_state<R>& s, decltype(call)&& c) : state(s), fn(std::move(c)) {}
      void run() override { detail::fulfil(state, std::move(fn)); }
      detail::future_state<R>& state;  // owned by the state itself
      decltype(call) fn;
    };
    state->defer(std::make_unique<deferred>(*state, std::move(call)));
  }
  return future<R>(std::move(state));
}

// std::async's default policy, async | deferred: runs as async (see the file comment).
template <class F, class... Args>
  requires(!std::is_same_v<std::remove_cvref_t<F>, std::launch>)
auto async(F&& f, Args&&... args)
    -> future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
  return balrog::async(std::launch::async | std::launch::deferred, std::forward<F>(f),
                       std::forward<Args>(args)...);
}

}  // namespace balrog
