// balrog::wait_readable / wait_writable: the reactor on a fiber, poll(2) on a plain thread.
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "balrog/errors.hpp"
#include "balrog/io.hpp"
#include "core/scheduler.hpp"
#include "reactor/timeouts.hpp"

namespace balrog {

namespace {

std::string describe(const char* call, int fd) {
  return std::string("balrog::") + call + "(fd " + std::to_string(fd) + ")";
}

// Sync mode: block the thread in poll(2) until ready or `until`.
void poll_fd(int fd, bool for_write, deadline until, bool scope_first, const char* call) {
  pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  for (;;) {
    const int n = ::poll(&p, 1, detail::poll_timeout_ms(until));
    if (n > 0) {
      if ((p.revents & POLLNVAL) != 0) {
        throw io_error(std::make_error_code(std::errc::bad_file_descriptor), describe(call, fd));
      }
      return;
    }
    if (n < 0 && errno != EINTR) throw_errno(describe(call, fd) + ": poll");
    if (n == 0 && until.expired()) {
      if (scope_first) throw timeout_error();
      throw timeout_error(describe(call, fd) + ": deadline exceeded");
    }
  }
}

// The one place that turns an fd wait's outcome into balrog's exceptions.
void throw_on_failed_wait(detail::wake_reason why, const char* call, int fd) {
  if (why == detail::wake_reason::timeout) {
    throw timeout_error(describe(call, fd) + ": deadline exceeded");
  }
  detail::throw_if_failed(why);
}

void wait_fd(int fd, bool for_write, deadline until, const char* call) {
  if (fd < 0) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor), describe(call, fd));
  }
  detail::execution_context& ctx = detail::current_context();
  if (!ctx.is_fiber() && detail::scheduler::current() != nullptr) {
    // A coroutine task, or the scheduler's loop: blocking here would stall the whole shard.
    detail::throw_if_failed(detail::wake_reason::misuse);
  }
  if (!ctx.is_fiber()) {
    if (ctx.scope_deadline.when() < until.when()) {
      poll_fd(fd, for_write, ctx.scope_deadline, true, call);
    } else {
      poll_fd(fd, for_write, until, false, call);
    }
    return;
  }
  detail::reactor& r = detail::scheduler::current()->io();
  detail::fd_wait w(ctx, fd, for_write);
  // Registration before prepare_wait is safe: only this thread's loop wakes fd waiters.
  if (r.add(w) == detail::reactor::registration::always_ready) return;
  ctx.prepare_wait();
  ctx.waiting_on = for_write ? "fd-write" : "fd-read";
  const detail::wake_reason why = ctx.wait(until);
  ctx.waiting_on = nullptr;
  r.remove(w);
  throw_on_failed_wait(why, call, fd);
}

}  // namespace

bool fd_awaiter::await_suspend(std::coroutine_handle<> h) {
  const char* call = for_write_ ? "writable" : "readable";
  if (fd_ < 0) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor), describe(call, fd_));
  }
  detail::scheduler* s = detail::scheduler::current();
  if (s == nullptr) {
    throw usage_error(
        "co_await balrog::readable/writable: no balrog scheduler runs on this thread; drive the "
        "coroutine with balrog::await or start it with balrog::spawn_task");
  }
  detail::execution_context& ctx = detail::current_context();
  wait_.emplace(ctx, fd_, for_write_);
  if (s->io().add(*wait_) == detail::reactor::registration::always_ready) {
    wait_.reset();
    return false;
  }
  ctx.prepare_wait();
  ctx.waiting_on = for_write_ ? "fd-write" : "fd-read";
  ctx.suspend_coroutine(h, until_);
  return true;
}

fd_awaiter::~fd_awaiter() {
  if (!wait_) return;
  if (detail::scheduler* s = detail::scheduler::current()) s->io().remove(*wait_);
}

void fd_awaiter::await_resume() {
  if (!wait_) return;  // was ready at once
  detail::execution_context& ctx = *wait_->node.ctx;
  ctx.waiting_on = nullptr;
  detail::scheduler::current()->io().remove(*wait_);
  wait_.reset();
  throw_on_failed_wait(ctx.last_wake, for_write_ ? "writable" : "readable", fd_);
}

void wait_readable(int fd, deadline until) { wait_fd(fd, false, until, "wait_readable"); }
void wait_writable(int fd, deadline until) { wait_fd(fd, true, until, "wait_writable"); }

}  // namespace balrog
