// balrog::wait_readable / wait_writable: the reactor on a fiber, poll(2) on a plain thread.
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "balrog/errors.hpp"
#include "balrog/io.hpp"
#include "core/scheduler.hpp"

namespace balrog {

namespace {

std::string describe(const char* call, int fd) {
  return std::string("balrog::") + call + "(fd " + std::to_string(fd) + ")";
}

// Sync mode: block the thread in poll(2) until ready or `until`.
void poll_fd(int fd, bool for_write, deadline until, bool scope_first, const char* call) {
  pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  for (;;) {
    int timeout_ms = -1;
    if (!until.is_never()) {
      const auto left = until.when() - clock::now();
      timeout_ms =
          left <= clock::duration::zero()
              ? 0
              : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
    }
    const int n = ::poll(&p, 1, timeout_ms);
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

void wait_fd(int fd, bool for_write, deadline until, const char* call) {
  if (fd < 0) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor), describe(call, fd));
  }
  detail::execution_context& ctx = detail::current_context();
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
  if (why == detail::wake_reason::timeout) {
    throw timeout_error(describe(call, fd) + ": deadline exceeded");
  }
  detail::throw_if_failed(why);
}

}  // namespace

void wait_readable(int fd, deadline until) { wait_fd(fd, false, until, "wait_readable"); }
void wait_writable(int fd, deadline until) { wait_fd(fd, true, until, "wait_writable"); }

}  // namespace balrog
