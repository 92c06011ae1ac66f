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
  balrog::detail::execution_context& ctx = balrog::detail::current_context();
  // wait_readable parks a fiber and blocks a plain thread in poll(2) (see owned_socket.hpp).
  socket_waiter node(ctx, /*polls=*/!ctx.is_fiber());
  if (!s.add_waiter(node, fd)) return true;  // closed meanwhile: the caller's re-check throws
  struct unregister {
    owned_socket& s;
    socket_waiter& node;
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

ready_awaiter::~ready_awaiter() {
  if (node_) s_.remove_waiter(*node_);
}

bool ready_awaiter::await_suspend(std::coroutine_handle<> h) {
  // The coroutine parks in the wait protocol whoever drives it: close() wakes it with try_wake.
  node_.emplace(balrog::detail::current_context(), /*polls=*/false);
  if (!s_.add_waiter(*node_, fd_)) {  // closed meanwhile: the caller's re-check throws
    node_.reset();
    return false;
  }
  own_first_ = own_deadline_first(until_);  // as in wait_ready
  try {
    return ready_.await_suspend(h);
  } catch (...) {  // no scheduler on this thread, a bad fd: nothing was suspended
    s_.remove_waiter(*node_);
    node_.reset();
    throw;
  }
}

bool ready_awaiter::await_resume() {
  if (node_) {
    s_.remove_waiter(*node_);
    node_.reset();
  }
  try {
    ready_.await_resume();
  } catch (const timeout_error&) {
    if (own_first_) return false;
    throw;
  }
  return true;
}

}  // namespace balrog::net::detail
