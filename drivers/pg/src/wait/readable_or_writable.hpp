// Waiting until a socket is readable or writable, whichever comes first, from coroutine code.
//
// A client that waits only for "writable" while it sends can deadlock with a server that stops
// reading until its own output is read: libpq's pqSendSome and psycopg's send loop wait for
// both, and so does the driver whenever it flushes (review C10). balrog::readable/writable wait
// for one direction; this awaiter queues the context on the reactor in both directions, and the
// first event wakes it (the other wait is dropped on resume).
#pragma once

#include <coroutine>
#include <optional>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/fd_wait.hpp"
#include "balrog/errors.hpp"
#include "core/scheduler.hpp"
#include "reactor/reactor.hpp"

namespace balrog::pg::detail {

class readable_or_writable {
 public:
  readable_or_writable(int fd, deadline until) noexcept : fd_(fd), until_(until) {}
  readable_or_writable(const readable_or_writable&) = delete;
  readable_or_writable& operator=(const readable_or_writable&) = delete;
  ~readable_or_writable() { unregister(); }

  bool await_ready() const noexcept { return false; }
  // False: epoll cannot watch the fd (never a socket): ready at once.
  bool await_suspend(std::coroutine_handle<> h) {
    balrog::detail::scheduler* s = balrog::detail::scheduler::current();
    if (s == nullptr) {
      throw usage_error("balrog::pg: waiting for a socket needs a balrog scheduler on this thread");
    }
    balrog::detail::execution_context& ctx = balrog::detail::current_context();
    reactor_ = &s->io();
    read_.emplace(ctx, fd_, false);
    write_.emplace(ctx, fd_, true);
    if (reactor_->add(*read_) == balrog::detail::reactor::registration::always_ready) {
      unregister();
      return false;
    }
    try {
      reactor_->add(*write_);
    } catch (...) {
      unregister();
      throw;
    }
    ctx.prepare_wait();
    ctx.waiting_on = "pg-socket";
    ctx.suspend_coroutine(h, until_);
    return true;
  }
  void await_resume() {
    if (!read_) return;
    balrog::detail::execution_context& ctx = *read_->node.ctx;
    ctx.waiting_on = nullptr;
    unregister();
    if (ctx.last_wake == balrog::detail::wake_reason::timeout) {
      throw timeout_error("balrog::pg: deadline exceeded waiting for the server");
    }
    balrog::detail::throw_if_failed(ctx.last_wake);
  }

 private:
  void unregister() noexcept {
    if (reactor_ == nullptr) return;
    if (read_) reactor_->remove(*read_);
    if (write_) reactor_->remove(*write_);
    read_.reset();
    write_.reset();
  }

  int fd_;
  deadline until_;
  balrog::detail::reactor* reactor_ = nullptr;
  std::optional<balrog::detail::fd_wait> read_;
  std::optional<balrog::detail::fd_wait> write_;
};

}  // namespace balrog::pg::detail
