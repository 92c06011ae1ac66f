// The one fd-wait path: how a context waits for fds, whoever asks — wait_readable/writable,
// co_await readable/writable, registered_fd, the net drivers, the compat layer. Every wait makes
// the same steps in the same order (the wait protocol of execution_context.hpp):
//
//   1. a deadline already past: look (poll(2), zero timeout) instead of waiting, as
//      poll(fd, 0) does: ready returns, idle times out;
//   2. ctx.prepare_wait(): from now on any waker may claim the context;
//   3. publish: on the fd owner's own list first (so that owned_socket::close() on any thread
//      wakes the wait), then on the reactor (through the owner's registration, if any);
//   4. wait: a fiber parks (ctx.wait), a coroutine suspends (ctx.suspend_coroutine); or, when
//      step 3 found nothing to wait for (ready, closed), the claim is taken back;
//   5. unpublish everywhere. The outcome: why the context woke, and what the reactor saw.
//
// A plain thread (sync mode) makes steps 1, 3 and 5 with poll(2) instead of the reactor, and
// publishes on the owner's list as a poller (closing the socket shuts it down to wake it).
//
// A wait is for one fd, in one direction or in either (fd_interest::read_or_write: one queued
// node per direction, the first event wakes the context). Every single-fd wait of the runtime
// and its drivers is one of: wait_for_fd (fibers, plain threads) or suspend_on_fd /
// resume_from_fd (coroutines). Only the compat layer's poll/select, which waits for many fds
// at once, queues its nodes itself (fd_waits below), in the same order.
#pragma once

#include <poll.h>

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/fd_wait.hpp"
#include "reactor/poll_now.hpp"
#include "reactor/reactor.hpp"

namespace balrog::detail {

// How a wait for an fd ended.
struct fd_wait_outcome {
  // notified: the reactor (or a poll) saw `revents`; timeout / scope_timeout: the call's own
  // deadline or the enclosing deadline_scope's passed (a past one: the look found nothing);
  // cancelled; misuse (a blocking wait in coroutine code or on the scheduler's loop).
  wake_reason why = wake_reason::notified;
  std::uint32_t revents = 0;  // 0: woken for nothing in particular (look again)

  // The fd was closed (or replaced) while the wait was on: do not touch its number again.
  [[nodiscard]] bool closed() const noexcept {
    return why == wake_reason::notified && (revents & fd_closed_event) != 0;
  }
};

// Fiber, or plain thread (sync mode: poll(2)): the whole wait, steps 1-5. `ctx` is
// current_context(). Throws io_error when the reactor cannot watch the fd (EBADF, ENOMEM).
fd_wait_outcome wait_for_fd(execution_context& ctx, int fd, fd_interest interest, deadline until,
                            fd_owner* owner = nullptr);
inline fd_wait_outcome wait_for_fd(execution_context& ctx, int fd, bool for_write, deadline until,
                                   fd_owner* owner = nullptr) {
  return wait_for_fd(ctx, fd, for_write ? fd_interest::write : fd_interest::read, until, owner);
}

// Coroutine code (the awaiting context on a thread with a scheduler): steps 1-3, in
// await_suspend. True: suspended, and await_resume calls finish_coroutine_wait; false: resume
// at once with `out`. Throws io_error like wait_for_fd (nothing is left published).
bool start_coroutine_wait(fd_wait_state& st, std::coroutine_handle<> h, deadline until,
                          fd_wait_outcome& out);
// Step 5, in await_resume; also for a suspended wait whose coroutine is destroyed. Idempotent.
fd_wait_outcome finish_coroutine_wait(fd_wait_state& st) noexcept;

// The two halves every coroutine fd awaiter is made of (balrog::fd_awaiter, net's
// ready_awaiter, the Postgres driver's readable_or_writable): each awaiter only turns the
// outcome into its own result or exceptions.
//  - await_suspend: emplaces `wait` and starts it (steps 1-3). True: suspended. False: resume
//    at once, `out` says why (ready, closed, a past deadline), `wait` is empty again. Needs a
//    scheduler on this thread (require_scheduler first); throws io_error like wait_for_fd.
//  - await_resume (and the destructor of an awaiter whose coroutine was destroyed while
//    suspended): finishes a started wait and returns its outcome, else `out`.
bool suspend_on_fd(std::optional<fd_wait_state>& wait, int fd, fd_interest interest,
                   fd_owner* owner, std::coroutine_handle<> h, deadline until,
                   fd_wait_outcome& out);
fd_wait_outcome resume_from_fd(std::optional<fd_wait_state>& wait,
                               const fd_wait_outcome& out) noexcept;

// The exceptions of balrog/io.hpp for a wait's outcome (nothing for a ready fd): timeout_error
// "<call>(fd N): deadline exceeded" for the call's own deadline, io_error EBADF "<call>(fd N):
// the fd was closed", and throw_if_failed's for the rest.
void throw_unless_ready(const fd_wait_outcome& outcome, std::string_view call, int fd);

// The reactor of this thread's scheduler, or null (sync mode).
reactor* current_reactor() noexcept;

// Several fds for one fiber at once (compat poll, select, and its transfers): steps 3 and 5 on
// the reactor, one queued wait per fd and direction; the first event claims the fiber and the
// rest are unqueued when the wait ends. A few live inline; poll/select over many fds use the
// heap.
class fd_waits {
 public:
  fd_waits(execution_context& ctx, std::size_t capacity);
  fd_waits(const fd_waits&) = delete;
  fd_waits& operator=(const fd_waits&) = delete;
  ~fd_waits() { remove_all(); }

  // Step 3 for one interest (after ctx.prepare_wait()). `ready`: do not wait, revents() says
  // what is known (an fd epoll cannot watch is always ready). Throws io_error (EBADF...).
  reactor::queued add(reactor& r, int fd, bool for_write);
  // Step 5.
  void remove_all() noexcept;
  // What the reactor reported for the wait that ended it, or the last add() that found the fd
  // ready; 0 if nothing in particular.
  [[nodiscard]] std::uint32_t revents() const noexcept;

 private:
  std::optional<fd_wait>& slot(std::size_t i) noexcept { return heap_ ? heap_[i] : inline_[i]; }
  const std::optional<fd_wait>& slot(std::size_t i) const noexcept {
    return heap_ ? heap_[i] : inline_[i];
  }

  execution_context& ctx_;
  reactor* reactor_ = nullptr;
  std::array<std::optional<fd_wait>, 2> inline_{};
  std::unique_ptr<std::optional<fd_wait>[]> heap_;
  std::size_t used_ = 0;
};

}  // namespace balrog::detail
