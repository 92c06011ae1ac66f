// balrog::wait_readable / wait_writable and co_await readable / writable: the fd-wait path
// (fd_waits.hpp) with the exceptions of balrog/io.hpp.
#include <string>
#include <system_error>

#include "balrog/errors.hpp"
#include "balrog/io.hpp"
#include "core/shard/scheduler.hpp"
#include "io/fd_waits.hpp"
#include "reactor/describe_call.hpp"

namespace balrog {

namespace detail {

void throw_unless_ready(const fd_wait_outcome& outcome, std::string_view call, int fd) {
  if (outcome.why == wake_reason::timeout) {
    throw timeout_error(describe_call(call, fd) + ": deadline exceeded");
  }
  if (outcome.closed()) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                   describe_call(call, fd) + ": the fd was closed");
  }
  throw_if_failed(outcome.why);
}

}  // namespace detail

namespace {

const char* awaiter_call(bool for_write) {
  return for_write ? "balrog::writable" : "balrog::readable";
}

void check_fd(int fd, std::string_view call) {
  if (fd < 0) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                   detail::describe_call(call, fd));
  }
}

void wait_fd(int fd, bool for_write, deadline until, std::string_view call) {
  check_fd(fd, call);
  const detail::fd_wait_outcome outcome =
      detail::wait_for_fd(detail::current_context(), fd, for_write, until);
  detail::throw_unless_ready(outcome, call, fd);
}

}  // namespace

bool fd_awaiter::await_suspend(std::coroutine_handle<> h) {
  check_fd(fd_, awaiter_call(for_write_));
  detail::require_scheduler("balrog::readable/writable");
  detail::fd_wait_outcome out;
  const bool suspended = detail::suspend_on_fd(
      wait_, fd_, for_write_ ? detail::fd_interest::write : detail::fd_interest::read, owner_, h,
      until_, out);
  why_ = out.why;
  revents_ = out.revents;
  return suspended;
}

fd_awaiter::~fd_awaiter() { (void)detail::resume_from_fd(wait_, {why_, revents_}); }

void fd_awaiter::await_resume() {
  const detail::fd_wait_outcome outcome = detail::resume_from_fd(wait_, {why_, revents_});
  detail::throw_unless_ready(outcome, awaiter_call(for_write_), fd_);
}

void wait_readable(int fd, deadline until) { wait_fd(fd, false, until, "balrog::wait_readable"); }
void wait_writable(int fd, deadline until) { wait_fd(fd, true, until, "balrog::wait_writable"); }

}  // namespace balrog
