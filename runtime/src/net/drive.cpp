#include "net/drive.hpp"

#include <string>
#include <system_error>

#include "balrog/detail/execution_context.hpp"
#include "balrog/errors.hpp"

namespace balrog::net::detail {

namespace {

// wait_ready's and ready_awaiter's result: true for readiness or a close() (the caller re-reads
// the fd), false for the call's own deadline; the rest throws.
bool ready_or_closed(const balrog::detail::fd_wait_outcome& o) {
  switch (o.why) {
    case balrog::detail::wake_reason::notified:
      return true;
    case balrog::detail::wake_reason::timeout:
      return false;
    default:
      balrog::detail::throw_if_failed(o.why);
      return false;
  }
}

}  // namespace

void throw_closed(const char* call, const char* owner) {
  throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                 std::string(call) + ": " + owner + " is closed");
}

bool wait_ready(owned_socket& s, int fd, progress wanted, deadline until) {
  return ready_or_closed(balrog::detail::wait_for_fd(balrog::detail::current_context(), fd,
                                                     wanted == progress::want_write, until, &s));
}

ready_awaiter::~ready_awaiter() { (void)balrog::detail::resume_from_fd(wait_, outcome_); }

bool ready_awaiter::await_suspend(std::coroutine_handle<> h) {
  balrog::detail::require_scheduler("balrog::net");
  return balrog::detail::suspend_on_fd(
      wait_, fd_,
      for_write_ ? balrog::detail::fd_interest::write : balrog::detail::fd_interest::read, &s_, h,
      until_, outcome_);
}

bool ready_awaiter::await_resume() {
  return ready_or_closed(balrog::detail::resume_from_fd(wait_, outcome_));
}

}  // namespace balrog::net::detail
