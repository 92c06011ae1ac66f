// balrog/fiber.hpp — spawning fibers and the handle that joins, detaches or cancels one.
//
//   auto f = balrog::spawn([] { return fetch(); }, {.name = "fetch"});
//   auto v = f.join();          // the value, or the fiber's exception rethrown
//
// A fiber runs on the scheduler of the thread that spawned it and never moves to another
// thread. spawn() needs a running scheduler (call it inside balrog::run): anywhere else it
// throws balrog::usage_error.
//
// The handle, fiber<T>, owns the right to join:
//  - join() waits for the fiber and returns its value or rethrows its exception. It is a
//    suspension point (cancellable, bounded by deadline_scope); after it returns the handle is
//    empty. join() on an empty handle (joined, detached, moved-from) throws usage_error.
//  - detach() lets the fiber run on unobserved; balrog::run does not wait for detached fibers:
//    when everything else has finished it cancels them and waits for them to unwind. An
//    exception other than balrog::cancelled escaping a detached fiber ends the process
//    (std::terminate), after printing the fiber's name and the exception, as std::thread does.
//  - cancel() asks the fiber to stop (see this_fiber.hpp for what cancellation means). Any
//    thread may call it.
//  - Destroying a handle that still owns a fiber cancels the fiber and joins it, like
//    std::jthread. A value is dropped; an exception other than balrog::cancelled is printed to
//    stderr. Join explicitly when you care about the outcome. Where nothing may block — in
//    coroutine code (a task<T> frame, a chain inside balrog::await) and on the scheduler's
//    loop — the dropped handle cancels the fiber and lets it go instead of joining it:
//    balrog::run waits for it to unwind, as for a detached fiber, and an exception other than
//    balrog::cancelled is printed to stderr (not fatal, unlike detach()).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <iosfwd>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "balrog/stack.hpp"

namespace balrog {

// Identifies a fiber for its lifetime; fiber_id{} means "not a fiber".
class fiber_id {
 public:
  constexpr fiber_id() noexcept = default;
  constexpr explicit fiber_id(std::uint64_t v) noexcept : value_(v) {}
  [[nodiscard]] constexpr std::uint64_t value() const noexcept { return value_; }
  constexpr explicit operator bool() const noexcept { return value_ != 0; }
  friend constexpr auto operator<=>(fiber_id, fiber_id) noexcept = default;
  friend std::ostream& operator<<(std::ostream& os, fiber_id id);

 private:
  std::uint64_t value_ = 0;
};

struct fiber_options {
  // Shown by dump_fibers, the watchdog and the stack-overflow message. Empty: "fiber-<id>".
  std::string name{};
  // Bytes of stack. 0 picks the kind's default (see stack.hpp); smaller values are rounded up
  // to min_stack_size, and every size to whole pages. Costs address space, not memory.
  std::size_t stack_size = 0;
  // guarded (a guard page; overflow is caught) or dense (no guard page; many small fibers).
  stack_kind stack = stack_kind::guarded;
};

template <class T>
class fiber;

namespace detail {

// The user's function and, once it has run, its outcome. Owned by the fiber context.
class fiber_task {
 public:
  virtual ~fiber_task() = default;
  virtual void run() noexcept = 0;
  // The exception the function ended with, if any.
  [[nodiscard]] virtual std::exception_ptr failure() const noexcept = 0;
  // Records that the function could not run at all (no stack for its fiber...).
  virtual void fail(std::exception_ptr e) noexcept = 0;
};

// The outcome of a fiber returning T: empty until it ran, then a value or an exception.
template <class T>
class fiber_result : public fiber_task {
 public:
  [[nodiscard]] std::exception_ptr failure() const noexcept override {
    return outcome_.index() == 2 ? std::get<2>(outcome_) : nullptr;
  }
  void fail(std::exception_ptr e) noexcept override { outcome_.template emplace<2>(std::move(e)); }
  T take() {
    if (outcome_.index() == 2) std::rethrow_exception(std::get<2>(outcome_));
    if constexpr (!std::is_void_v<T>) return std::move(std::get<1>(outcome_));
  }

 protected:
  using value_slot = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  std::variant<std::monostate, value_slot, std::exception_ptr> outcome_;
};

template <class T, class F>
class fiber_task_impl final : public fiber_result<T> {
 public:
  explicit fiber_task_impl(F&& fn) : fn_(std::move(fn)) {}
  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<T>) {
        std::invoke(fn_);
        this->outcome_.template emplace<1>();
      } else {
        this->outcome_.template emplace<1>(std::invoke(fn_));
      }
    } catch (...) {
      this->outcome_.template emplace<2>(std::current_exception());
    }
  }

 private:
  F fn_;
};

class joinable_context;  // a fiber or a coroutine task (runtime/src/core/fiber/joinable.hpp)

// Spawning in two steps, so the task is built straight into the context's memory (one
// allocation per spawn): prepare_fiber reserves a context with room for the task on this
// thread's scheduler (throws usage_error off-runtime, io_error when no stack can be mapped);
// the caller constructs the task in `task_storage`; start_fiber queues the fiber, which from
// then on owns the task. If constructing the task throws, abandon_fiber frees the slot.
struct fiber_slot {
  joinable_context* ctx;
  void* task_storage;
};
fiber_slot prepare_fiber(std::size_t task_size, std::size_t task_align, fiber_options&& options);
void start_fiber(joinable_context* ctx, fiber_task* task) noexcept;
void abandon_fiber(joinable_context* ctx) noexcept;

// Operations behind the handles (runtime/src/core/fiber/join_handle.cpp).
void retain(joinable_context* j) noexcept;
void release(joinable_context* j) noexcept;
void join(joinable_context* j);  // waits; throws usage_error / cancelled / timeout_error
void detach(joinable_context* j) noexcept;
void cancel(joinable_context* j) noexcept;
bool finished(joinable_context* j) noexcept;
fiber_id id_of(const joinable_context* j) noexcept;
std::string_view name_of(const joinable_context* j) noexcept;
// Destructor path of a handle that still owns its fiber or task: cancel, join, report.
void cancel_and_join(joinable_context* j) noexcept;
[[noreturn]] void throw_empty_handle(const char* operation);

// The handle shared by fiber<T> and task_handle<T>: owns the right to join.
template <class T>
class join_handle {
  static_assert(!std::is_reference_v<T>, "a fiber or task cannot return a reference");

 public:
  join_handle() noexcept = default;
  join_handle(joinable_context* ctx, fiber_result<T>* result) noexcept
      : ctx_(ctx), result_(result) {}
  join_handle(join_handle&& other) noexcept
      : ctx_(std::exchange(other.ctx_, nullptr)), result_(std::exchange(other.result_, nullptr)) {}
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      reset();
      ctx_ = std::exchange(other.ctx_, nullptr);
      result_ = std::exchange(other.result_, nullptr);
    }
    return *this;
  }
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;
  ~join_handle() { reset(); }

  // Waits; returns the value or rethrows the exception. Empties the handle.
  T join() {
    if (!ctx_) throw_empty_handle("join");
    detail::join(ctx_);  // may throw cancelled/timeout_error: the handle stays joinable
    return take();
  }

  // Lets it run on unobserved. Empties the handle.
  void detach() {
    if (!ctx_) throw_empty_handle("detach");
    detail::detach(ctx_);
    detail::release(std::exchange(ctx_, nullptr));
    result_ = nullptr;
  }

  // Requests cancellation; returns at once. The handle stays joinable.
  void cancel() {
    if (!ctx_) throw_empty_handle("cancel");
    detail::cancel(ctx_);
  }

  [[nodiscard]] bool joinable() const noexcept { return ctx_ != nullptr; }
  // True once the function has returned or thrown.
  [[nodiscard]] bool done() const noexcept { return ctx_ && detail::finished(ctx_); }
  [[nodiscard]] fiber_id id() const noexcept { return ctx_ ? detail::id_of(ctx_) : fiber_id{}; }
  [[nodiscard]] std::string_view name() const noexcept {
    return ctx_ ? detail::name_of(ctx_) : std::string_view{};
  }

  // For awaiting from coroutines (balrog/task.hpp): the context, and the outcome once done.
  [[nodiscard]] detail::joinable_context* context() const noexcept { return ctx_; }
  T take() {
    auto* result = std::exchange(result_, nullptr);
    auto* ctx = std::exchange(ctx_, nullptr);
    struct releaser {
      detail::joinable_context* c;
      ~releaser() { detail::release(c); }
    } guard{ctx};
    return result->take();
  }

 private:
  void reset() noexcept {
    if (ctx_) {
      detail::cancel_and_join(ctx_);
      detail::release(std::exchange(ctx_, nullptr));
      result_ = nullptr;
    }
  }

  detail::joinable_context* ctx_ = nullptr;
  fiber_result<T>* result_ = nullptr;  // owned by *ctx_
};

}  // namespace detail

template <class T>
class fiber : public detail::join_handle<T> {
 public:
  using detail::join_handle<T>::join_handle;
};

// Starts `fn` on a new fiber of the current scheduler. It runs when the spawning fiber next
// suspends or yields (spawn itself never switches).
template <class F>
auto spawn(F&& fn, fiber_options options = {}) -> fiber<std::invoke_result_t<std::decay_t<F>>> {
  using T = std::invoke_result_t<std::decay_t<F>>;
  using task_t = detail::fiber_task_impl<T, std::decay_t<F>>;
  const detail::fiber_slot slot =
      detail::prepare_fiber(sizeof(task_t), alignof(task_t), std::move(options));
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

}  // namespace balrog
