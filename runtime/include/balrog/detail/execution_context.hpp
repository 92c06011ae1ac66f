// balrog/detail/execution_context.hpp — who can wait, and the one protocol for waiting.
//
// Two kinds of execution context can block in balrog: a fiber (it suspends; its scheduler
// runs something else) and a plain thread with no runtime (sync mode: it parks on a futex).
// Every blocking primitive is written once against this class, so each works in both places.
//
// The wait protocol (all primitives follow it; see wait_queue.hpp for the common case):
//   1. ctx.prepare_wait()            — from now on wakers may claim this context;
//   2. publish &ctx where wakers find it (a wait queue, the reactor), under that place's lock;
//   3. ctx.wait(own_deadline)        — parks until claimed, or until the earlier of own_deadline
//                                      and the enclosing deadline_scope passes, or until
//                                      cancelled; returns why it woke;
//   4. unpublish if still published  — under the same lock.
// A waker calls try_wake(reason): the first claim wins (an atomic exchange), later ones return
// false, so a timeout and a notification can race safely; a waker whose claim fails moves on
// (e.g. hands the mutex to the next waiter).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <string_view>

#include "balrog/deadline.hpp"

namespace balrog::detail {

enum class wake_reason : std::uint8_t {
  notified,       // a waker claimed us
  timeout,        // the own deadline passed
  scope_timeout,  // the enclosing deadline_scope's deadline passed (throws timeout_error)
  cancelled,      // fiber::cancel() (throws cancelled)
  misuse,         // a blocking wait inside a coroutine (throws usage_error)
};

class execution_context {
 public:
  execution_context() = default;
  execution_context(const execution_context&) = delete;
  execution_context& operator=(const execution_context&) = delete;

  // Step 1 of the protocol.
  void prepare_wait() noexcept { state_.store(waiting, std::memory_order_relaxed); }

  // Step 3. Never throws; the caller turns the reason into an exception (see throw_if_failed).
  // Inline (below): a parked context's stack holds no frame of its own for it.
  wake_reason wait(deadline own);

  // Claims a waiting context and makes it runnable. Thread-safe. False if it was not waiting
  // or someone else claimed it first.
  bool try_wake(wake_reason why) noexcept;

  // try_wake in two halves, for a waker that claims under a lock and wakes after releasing it
  // (a wake is a queue push, maybe an eventfd write, or a futex wake: not for under a
  // spinlock). claim() is the atomic claim; when it succeeds, wake(token) makes the context
  // runnable later. A claimed fiber or task cannot run before that; a plain thread may return
  // as soon as the claim lands, so the token holds only the address of its futex word, and
  // only when the thread sleeps on it: a thread still spinning before its sleep sees the
  // claim itself, and wake(token) then does nothing (no system call).
  struct wake_token {
    execution_context* ctx = nullptr;            // a fiber or task
    std::atomic<std::uint32_t>* word = nullptr;  // a plain thread asleep on its futex
  };
  [[nodiscard]] bool claim(wake_reason why, wake_token& token) noexcept;
  static void wake(const wake_token& token) noexcept;
  // claim() of a fiber or task that only the calling thread can claim (its timers, its
  // cancellation and the queue it waits in are all on this thread): a load and a store
  // instead of the atomic exchange. Then wake({this, nullptr}).
  [[nodiscard]] bool claim_here(wake_reason why) noexcept {
    if (state_.load(std::memory_order_relaxed) != waiting) return false;
    state_.store(woken_base + static_cast<std::uint32_t>(why), std::memory_order_release);
    return true;
  }

  // Cancellation (fiber::cancel()). Sticky: every later suspension throws balrog::cancelled,
  // except inside a cancellation shield. Call it on the context's own thread (fiber handles
  // forward cross-thread requests to the fiber's scheduler), so it never races a shield.
  void request_cancel() noexcept;
  [[nodiscard]] bool cancel_pending() const noexcept {
    return shield_depth_ == 0 && cancel_requested_.load(std::memory_order_acquire);
  }
  [[nodiscard]] bool cancel_requested() const noexcept {
    return cancel_requested_.load(std::memory_order_acquire);
  }
  void enter_shield() noexcept { ++shield_depth_; }
  void leave_shield() noexcept;

  // The earliest deadline of the enclosing deadline_scopes.
  deadline scope_deadline{};

  // Which deadline wins: a wait with its own deadline `own` ends at the earlier of it and
  // scope_deadline (own wins a tie), and then reports `on_timeout` (timeout for its own,
  // scope_timeout, which throws timeout_error, for the scope's). Every wait decides it here.
  struct wait_bound {
    deadline until;
    wake_reason on_timeout;
  };
  [[nodiscard]] wait_bound bound_of(deadline own) const noexcept {
    if (scope_deadline.when() < own.when()) return {scope_deadline, wake_reason::scope_timeout};
    return {own, wake_reason::timeout};
  }

  // What this context waits on, for diagnostics (dump_fibers, the watchdog). Static strings.
  const char* waiting_on = nullptr;

  [[nodiscard]] virtual bool is_fiber() const noexcept = 0;

  // --- C++20 coroutines (balrog/task.hpp) ------------------------------------------------
  // A coroutine cannot park; its awaitables run steps 1-2 of the protocol in await_suspend and
  // then call suspend_coroutine(h, own) instead of wait(). Whoever drives the coroutine then
  // waits on its behalf and resumes `h`, with the reason in last_wake:
  //  - a fiber (or thread) inside balrog::await: this records the request in pending_resume /
  //    pending_deadline, and the await loop calls wait() and resumes h;
  //  - a coroutine task (spawn_task): the task arms its timer and returns; the scheduler's loop
  //    resumes h when the task is claimed.
  virtual void suspend_coroutine(std::coroutine_handle<> h, deadline own) noexcept;
  wake_reason last_wake = wake_reason::notified;
  std::coroutine_handle<> pending_resume{};
  // A chain suspended in a foreign awaitable, completed elsewhere and posted back here
  // (come_home in detail/coroutine.hpp): the fiber inside balrog::await resumes it.
  std::coroutine_handle<> homecoming{};
  deadline pending_deadline{};
  // > 0 while this context runs coroutine code. A blocking wait() there would stall every
  // coroutine and fiber of the shard, so it is refused with wake_reason::misuse.
  int coroutine_depth = 0;
  [[nodiscard]] bool in_coroutine_code() const noexcept { return coroutine_depth > 0; }

  // For a context that published itself (steps 1-2) and then found it need not wait: takes
  // the claim back. False when a waker claimed it first: then call wait() to absorb the wake.
  bool withdraw_wait() noexcept;

 protected:
  ~execution_context() = default;

  // Blocks until claimed (state_ == woken) or until `until` passes; on timeout the
  // implementation claims itself with `timeout_reason`. Must not return before some claim.
  virtual void park(deadline until, wake_reason timeout_reason) = 0;
  // Makes a claimed context runnable (fiber: ready queue; thread: futex wake).
  virtual void unpark() noexcept = 0;

  // state_ values. A claim stores woken_base + reason in one atomic step, so the woken
  // context reads why it woke from the same word that told it to wake. `sleeping` is a plain
  // thread's `waiting` once it stopped spinning and futex-waits on the word: only a claim
  // that replaces `sleeping` owes a futex wake.
  static constexpr std::uint32_t running = 0;
  static constexpr std::uint32_t waiting = 1;
  static constexpr std::uint32_t sleeping = 2;
  static constexpr std::uint32_t woken_base = 3;
  [[nodiscard]] bool claimed() const noexcept {
    return state_.load(std::memory_order_acquire) >= woken_base;
  }

  // A claim made by the waiting context itself (deadline already past, cancel pending).
  bool claim_self(wake_reason why) noexcept;
  // The claim itself, from `waiting` or `sleeping`; `was` gets the state it replaced.
  bool claim_waiting(wake_reason why, std::uint32_t& was) noexcept;
  // Before parking: claims itself when cancellation is pending or the earlier of `own` and
  // the scope deadline already passed (true: do not park). Also says which deadline applies.
  bool claim_before_parking(deadline own, deadline& until, wake_reason& on_timeout) noexcept;
  // After a claim: back to running; returns why it was claimed.
  wake_reason consume_wake() noexcept {
    const std::uint32_t s = state_.load(std::memory_order_acquire);
    state_.store(running, std::memory_order_relaxed);
    return static_cast<wake_reason>(s - woken_base);
  }

  std::atomic<std::uint32_t> state_{running};  // 32-bit: thread contexts futex-wait on it
  std::atomic<bool> cancel_requested_{false};
  int shield_depth_ = 0;  // touched only by the context itself
  // A plain thread's context (thread_context): try_wake reads this before its claim, since the
  // thread may return from wait() and exit (freeing this object) as soon as the claim lands.
  bool is_thread_ = false;
};

inline wake_reason execution_context::wait(deadline own) {
  deadline until;
  wake_reason on_timeout{};
  // A blocking wait inside coroutine code would stall the shard: refuse it.
  const bool refused = in_coroutine_code() && claim_self(wake_reason::misuse);
  // A failed self-claim means a waker got there first and will make us runnable: park anyway.
  if (!refused && !claim_before_parking(own, until, on_timeout)) park(until, on_timeout);
  return consume_wake();
}

// The context running this code: the current fiber, the coroutine task the loop is running,
// or the calling thread's own context.
execution_context& current_context() noexcept;

// The one "misuse here" check: where a blocking-style call must not block (`ctx` is
// current_context()):
//  - coroutine: coroutine code (a task, or a chain under balrog::await): a wait there would
//    stall every fiber and coroutine of the shard; wait() refuses it (wake_reason::misuse);
//  - loop: a scheduler's loop itself (a posted task, a callback), which must never wait.
// Each caller refuses the places it must with throw_misuse (this_fiber::yield, which never
// blocks, refuses coroutine code only; the compat layer turns a refusal into EDEADLK).
enum class misuse_place : std::uint8_t { none, coroutine, loop };
[[nodiscard]] misuse_place misuse_here(const execution_context& ctx) noexcept;
// The one thrower: usage_error "balrog: <what> inside a C++20 coroutine would stall..." or
// "balrog: <what> on a scheduler's loop ...". `where` is not none.
[[noreturn]] void throw_misuse(misuse_place where, std::string_view what = "a blocking call");

// The checks a blocking-style call makes before it waits, each written once:
//  - misuse here: throw_misuse when ctx runs coroutine code;
//  - interrupted: throws cancelled when cancellation is pending, timeout_error when the
//    enclosing deadline_scope has passed.
void refuse_in_coroutine(const execution_context& ctx, std::string_view what = "a blocking call");
void throw_if_interrupted(const execution_context& ctx);
// The "no scheduler here" check of every co_await form (sleep, fd readiness, net): usage_error
// "co_await <what>: no balrog scheduler runs on this thread..." unless one does.
void require_scheduler(std::string_view what);

// Turns a wake reason into the exception balrog's API promises. `notified` and `timeout`
// (the caller's own deadline) return; the caller decides what those mean.
void throw_if_failed(wake_reason why);

}  // namespace balrog::detail
