// balrog/thread.hpp — std::thread and std::jthread twins whose threads are fibers.
//
// balrog-gen's sync-types pass rewrites std::thread, std::jthread, std::thread::id and
// std::this_thread::get_id to these, so code written for OS threads (a worker pool on a
// condition variable, a client per std::thread) runs its "threads" as fibers of one shard:
// a blocking call rewritten to balrog::compat then suspends one fiber, not the whole thread.
//
// Where the new thread runs:
//  - Constructed on a fiber (inside balrog::run or a runtime shard): a new fiber on the
//    current shard. It never migrates to another thread (use shards for more cores), so
//    CPU-bound work in it takes turns with the shard's other fibers.
//  - Constructed anywhere else (sync mode, no runtime on this thread): a real std::thread,
//    so rewritten code still works outside balrog::run.
//
// The std API and semantics, with these differences:
//  - join() on a fiber-backed thread is a suspension point: it throws balrog::cancelled when
//    the joining fiber is cancelled (the thread stays joinable) and balrog::timeout_error
//    when an enclosing deadline_scope passes.
//  - An exception escaping the function ends the process (std::terminate), as with
//    std::thread; balrog::cancelled (the runtime cancelling a detached fiber when balrog::run
//    ends) unwinds the fiber quietly instead.
//  - Destroying a joinable balrog::thread calls std::terminate, as std::thread's destructor
//    does; jthread requests stop and joins.
//  - balrog::run does not wait for detached fibers: when everything else is done it cancels
//    them (their next suspension point throws balrog::cancelled).
//  - native_handle() does not exist (a fiber has no pthread_t).
//
// thread::id identifies a fiber (or, in sync mode, an OS thread): it compares, hashes
// (std::hash<balrog::thread::id>) and prints like std::thread::id, and
// balrog::this_thread::get_id() returns the caller's. Code keyed by thread id (per-thread
// maps, owner checks) keeps working when its threads become fibers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iosfwd>
#include <stop_token>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/this_fiber.hpp"

namespace balrog {

class thread;

namespace detail {
// Prints the exception that escaped a thread's function, then std::terminate().
[[noreturn]] void thread_function_threw() noexcept;
}  // namespace detail

class thread {
 public:
  // A fiber (fiber_id) or, in sync mode, an OS thread (std::thread::id); id{} is neither.
  class id {
   public:
    id() noexcept = default;
    explicit id(fiber_id f) noexcept : fiber_(f) {}
    explicit id(std::thread::id t) noexcept : thread_(t) {}

    [[nodiscard]] bool is_fiber() const noexcept { return static_cast<bool>(fiber_); }
    [[nodiscard]] fiber_id fiber() const noexcept { return fiber_; }
    [[nodiscard]] std::thread::id os_thread() const noexcept { return thread_; }

    friend bool operator==(const id& a, const id& b) noexcept {
      return a.fiber_ == b.fiber_ && a.thread_ == b.thread_;
    }
    friend std::strong_ordering operator<=>(const id& a, const id& b) noexcept {
      if (auto c = a.fiber_ <=> b.fiber_; c != 0) return c;
      return a.thread_ <=> b.thread_;
    }
    // "fiber-<n>" for a fiber, std::thread::id's output for an OS thread, and
    // std::thread::id{}'s ("thread::id of a non-executing thread") for id{}.
    friend std::ostream& operator<<(std::ostream& os, const id& i);

   private:
    fiber_id fiber_{};
    std::thread::id thread_{};
  };

  thread() noexcept = default;

  template <class F, class... Args>
    requires(!std::is_same_v<std::remove_cvref_t<F>, thread>)
  explicit thread(F&& f, Args&&... args) {
    start([fn = std::decay_t<F>(std::forward<F>(f)),
           bound = std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)]() mutable {
      std::apply([&](auto&... a) { std::invoke(std::move(fn), std::move(a)...); }, bound);
    });
  }

  thread(thread&& other) noexcept
      : impl_(std::exchange(other.impl_, std::monostate{})), id_(std::exchange(other.id_, id{})) {}
  thread& operator=(thread&& other) noexcept {
    if (joinable()) std::terminate();
    impl_ = std::exchange(other.impl_, std::monostate{});
    id_ = std::exchange(other.id_, id{});
    return *this;
  }
  thread(const thread&) = delete;
  thread& operator=(const thread&) = delete;
  ~thread() {
    if (joinable()) std::terminate();
  }

  [[nodiscard]] bool joinable() const noexcept { return id_ != id{}; }
  [[nodiscard]] id get_id() const noexcept { return id_; }
  // True when the thread is a fiber (it was started on a fiber), false for an OS thread.
  [[nodiscard]] bool is_fiber() const noexcept { return id_.is_fiber(); }

  // Waits until the function returned. std::system_error (invalid_argument) when not
  // joinable, (resource_deadlock_would_occur) when the thread joins itself.
  void join();
  // Lets it run on unobserved. std::system_error (invalid_argument) when not joinable.
  void detach();
  void swap(thread& other) noexcept {
    std::swap(impl_, other.impl_);
    std::swap(id_, other.id_);
  }

  [[nodiscard]] static unsigned hardware_concurrency() noexcept {
    return std::thread::hardware_concurrency();
  }

 private:
  template <class G>
  void start(G&& g) {
    auto body = [g = std::forward<G>(g)]() mutable {
      try {
        g();
      } catch (const cancelled&) {
        throw;  // the runtime unwinding a detached fiber at the end of balrog::run
      } catch (...) {
        detail::thread_function_threw();
      }
    };
    if (this_fiber::id()) {
      auto f = spawn(std::move(body));
      id_ = id(f.id());
      impl_.emplace<fiber<void>>(std::move(f));
    } else {
      auto& t = impl_.emplace<std::thread>(std::move(body));
      id_ = id(t.get_id());
    }
  }

  std::variant<std::monostate, fiber<void>, std::thread> impl_;
  id id_{};
};

inline void swap(thread& a, thread& b) noexcept { a.swap(b); }

namespace this_thread {
// The caller's id: its fiber's, or off-fiber its OS thread's.
[[nodiscard]] inline thread::id get_id() noexcept {
  if (const fiber_id f = this_fiber::id()) return thread::id(f);
  return thread::id(std::this_thread::get_id());
}
}  // namespace this_thread

// std::jthread's twin: a balrog::thread that owns a std::stop_source, requests stop and joins
// when destroyed, and passes a std::stop_token first to a function that takes one.
class jthread {
 public:
  using id = thread::id;

  jthread() noexcept : source_(std::nostopstate) {}

  template <class F, class... Args>
    requires(!std::is_same_v<std::remove_cvref_t<F>, jthread>)
  explicit jthread(F&& f, Args&&... args) {
    if constexpr (std::is_invocable_v<std::decay_t<F>, std::stop_token, std::decay_t<Args>...>) {
      thread_ = thread(std::forward<F>(f), source_.get_token(), std::forward<Args>(args)...);
    } else {
      thread_ = thread(std::forward<F>(f), std::forward<Args>(args)...);
    }
  }

  jthread(jthread&& other) noexcept
      : source_(std::exchange(other.source_, std::stop_source(std::nostopstate))),
        thread_(std::move(other.thread_)) {}
  jthread& operator=(jthread&& other) noexcept {
    if (this != &other) {
      stop_and_join();
      source_ = std::exchange(other.source_, std::stop_source(std::nostopstate));
      thread_ = std::move(other.thread_);
    }
    return *this;
  }
  jthread(const jthread&) = delete;
  jthread& operator=(const jthread&) = delete;
  ~jthread() { stop_and_join(); }

  [[nodiscard]] bool joinable() const noexcept { return thread_.joinable(); }
  [[nodiscard]] id get_id() const noexcept { return thread_.get_id(); }
  [[nodiscard]] bool is_fiber() const noexcept { return thread_.is_fiber(); }
  void join() { thread_.join(); }
  void detach() { thread_.detach(); }
  void swap(jthread& other) noexcept {
    std::swap(source_, other.source_);
    thread_.swap(other.thread_);
  }

  [[nodiscard]] std::stop_source get_stop_source() noexcept { return source_; }
  [[nodiscard]] std::stop_token get_stop_token() const noexcept { return source_.get_token(); }
  bool request_stop() noexcept { return source_.request_stop(); }

  [[nodiscard]] static unsigned hardware_concurrency() noexcept {
    return thread::hardware_concurrency();
  }

 private:
  void stop_and_join() noexcept {
    if (!thread_.joinable()) return;
    source_.request_stop();
    try {
      thread_.join();
    } catch (...) {
      std::terminate();  // the owner was cancelled while joining: it cannot be left running
    }
  }

  std::stop_source source_;
  thread thread_;
};

inline void swap(jthread& a, jthread& b) noexcept { a.swap(b); }

}  // namespace balrog

template <>
struct std::hash<balrog::thread::id> {
  std::size_t operator()(const balrog::thread::id& i) const noexcept {
    if (i.is_fiber()) return std::hash<std::uint64_t>{}(i.fiber().value());
    return std::hash<std::thread::id>{}(i.os_thread());
  }
};
