#include "net/drive.hpp"

#include <string>
#include <system_error>

#include "balrog/detail/execution_context.hpp"
#include "balrog/errors.hpp"

namespace balrog::net::detail {

void throw_closed(const char* call, const char* owner) {
  throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                 std::string(call) + ": " + owner + " is closed");
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
