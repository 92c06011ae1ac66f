#include "net/drive.hpp"

#include <string>
#include <system_error>

#include "balrog/detail/execution_context.hpp"
#include "balrog/errors.hpp"
#include "balrog/io.hpp"

namespace balrog::net::detail {

void throw_closed(const char* call, const char* owner) {
  throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                 std::string(call) + ": " + owner + " is closed");
}

bool wait_ready(owned_socket& s, int fd, progress wanted, deadline until) {
  balrog::detail::waiter node(balrog::detail::current_context());
  if (!s.add_waiter(node, fd)) return true;  // closed meanwhile: the caller's re-check throws
  struct unregister {
    owned_socket& s;
    balrog::detail::waiter& node;
    ~unregister() { s.remove_waiter(node); }
  } guard{s, node};
  // Which deadline wins decides what a timeout means, as inside wait_readable: an enclosing
  // scope's timeout stays the plain timeout_error that every suspension point throws.
  const bool own_first = own_deadline_first(until);
  try {
    if (wanted == progress::want_read) {
      wait_readable(fd, until);
    } else {
      wait_writable(fd, until);
    }
  } catch (const timeout_error&) {
    if (own_first) return false;
    throw;
  }
  return true;
}

}  // namespace balrog::net::detail
