// Waiting until a socket is readable or writable, whichever comes first, from coroutine code.
//
// A client that waits only for "writable" while it sends can deadlock with a server that stops
// reading until its own output is read: libpq's pqSendSome and psycopg's send loop wait for
// both, and so does the driver whenever its flush cannot send everything at once (review C10).
// This is the runtime's one fd-wait path (runtime/src/io/fd_waits.hpp) with
// fd_interest::read_or_write: one node queued on the reactor per direction, the first event
// wakes the context, and a deadline already past looks (poll(2)) instead of waiting, as every
// other wait does. Only a full socket gets here, so the plain (armed per wait) queueing costs
// nothing that matters.
#pragma once

#include <coroutine>
#include <optional>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/errors.hpp"
#include "io/fd_waits.hpp"

namespace balrog::pg::detail {

class readable_or_writable {
 public:
  // The wait protocol resumes the chain on its own context: no trampoline (coroutine.hpp).
  using balrog_resumes_home = void;
  readable_or_writable(int fd, deadline until) noexcept : fd_(fd), until_(until) {}
  // Movable only before it is awaited (GCC 12 moves an awaiter that await_transform passes
  // through, as for balrog::fd_awaiter); a queued wait is never moved: its nodes are linked.
  readable_or_writable(readable_or_writable&& other) noexcept
      : fd_(other.fd_), until_(other.until_) {}
  readable_or_writable(const readable_or_writable&) = delete;
  readable_or_writable& operator=(const readable_or_writable&) = delete;
  // A suspended chain destroyed without being resumed leaves the reactor's queues.
  ~readable_or_writable() { (void)balrog::detail::resume_from_fd(wait_, outcome_); }

  bool await_ready() const noexcept { return false; }
  // False: no need to wait (ready already, closed, or epoll cannot watch the fd).
  bool await_suspend(std::coroutine_handle<> h) {
    balrog::detail::require_scheduler("balrog::pg socket wait");
    try {
      return balrog::detail::suspend_on_fd(wait_, fd_, balrog::detail::fd_interest::read_or_write,
                                           nullptr, h, until_, outcome_);
    } catch (const io_error&) {
      // A bad fd: the caller's next libpq call reports the connection's state.
      outcome_ = {};
      return false;
    }
  }
  // Returns when the socket is ready in either direction, has an error or hang-up, or was
  // closed (the caller's next libpq call tells which). Throws timeout_error for `until`,
  // cancelled, and timeout_error for an enclosing deadline_scope.
  void await_resume() {
    const balrog::detail::fd_wait_outcome outcome = balrog::detail::resume_from_fd(wait_, outcome_);
    if (outcome.why == balrog::detail::wake_reason::timeout) {
      throw timeout_error("balrog::pg: deadline exceeded waiting for the server");
    }
    balrog::detail::throw_if_failed(outcome.why);
  }

 private:
  int fd_;
  deadline until_;
  std::optional<balrog::detail::fd_wait_state> wait_;  // engaged while suspended
  balrog::detail::fd_wait_outcome outcome_;
};

}  // namespace balrog::pg::detail
