// Waiting until a socket is readable or writable, whichever comes first, from coroutine code.
//
// A client that waits only for "writable" while it sends can deadlock with a server that stops
// reading until its own output is read: libpq's pqSendSome and psycopg's send loop wait for
// both, and so does the driver whenever its flush cannot send everything at once (review C10).
// balrog::readable/writable wait for one direction; this awaiter queues the context on the
// reactor in both directions through the runtime's fd_waits (as the compat layer's poll does),
// and the first event wakes it. Only a full socket gets here, so the plain (armed per wait)
// queueing costs nothing that matters.
#pragma once

#include <coroutine>
#include <optional>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/errors.hpp"
#include "core/shard/scheduler.hpp"
#include "reactor/fd_waits.hpp"

namespace balrog::pg::detail {

class readable_or_writable {
 public:
  readable_or_writable(int fd, deadline until) noexcept : fd_(fd), until_(until) {}
  readable_or_writable(const readable_or_writable&) = delete;
  readable_or_writable& operator=(const readable_or_writable&) = delete;
  // A suspended chain destroyed without being resumed leaves the reactor's queues.
  ~readable_or_writable() {
    if (waits_) waits_->remove_all();
  }

  bool await_ready() const noexcept { return false; }
  // False: no need to wait (ready already, or epoll cannot watch the fd).
  bool await_suspend(std::coroutine_handle<> h) {
    balrog::detail::require_scheduler("balrog::pg socket wait");
    ctx_ = &balrog::detail::current_context();
    balrog::detail::reactor& r = balrog::detail::scheduler::current()->io();
    ctx_->prepare_wait();
    waits_.emplace(*ctx_, 2);
    for (const bool for_write : {false, true}) {
      bool queued = false;
      try {
        queued = waits_->add(r, fd_, for_write) == balrog::detail::reactor::queued::waiting;
      } catch (const io_error&) {
        // A bad fd: the caller's next libpq call reports the connection's state.
      }
      if (!queued) {
        // Ready (or closed: the caller's next libpq call tells which): take the claim back, or
        // let the wake that came first resume us.
        waits_->remove_all();
        waits_.reset();
        if (ctx_->withdraw_wait()) return false;
        ctx_->suspend_coroutine(h, deadline::never());
        return true;
      }
    }
    ctx_->waiting_on = "pg-socket";
    ctx_->suspend_coroutine(h, until_);
    return true;
  }
  void await_resume() {
    if (!waits_) return;  // woken before it queued: nothing to report
    const balrog::detail::wake_reason why = ctx_->last_wake;
    waits_->remove_all();
    waits_.reset();
    ctx_->waiting_on = nullptr;
    if (why == balrog::detail::wake_reason::timeout) {
      throw timeout_error("balrog::pg: deadline exceeded waiting for the server");
    }
    balrog::detail::throw_if_failed(why);
  }

 private:
  int fd_;
  deadline until_;
  balrog::detail::execution_context* ctx_ = nullptr;
  std::optional<balrog::detail::fd_waits> waits_;
};

}  // namespace balrog::pg::detail
