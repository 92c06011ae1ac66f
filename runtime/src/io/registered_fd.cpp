#include "balrog/registered_fd.hpp"

#include <mutex>

#include "balrog/errors.hpp"
#include "io/fd_waits.hpp"
#include "reactor/describe_call.hpp"

namespace balrog {

namespace {

// Ends `reg` if it was made on this thread's reactor; a registration elsewhere (another
// thread's reactor, or one that is gone) is left to go stale.
void end_registration(detail::io_registration& reg) noexcept {
  if (reg.reactor == 0) return;
  if (detail::reactor* r = detail::current_reactor()) r->deregister(reg, /*still_open=*/true);
  reg = {};
}

}  // namespace

registered_fd::registered_fd(registered_fd&& other) noexcept {
  std::lock_guard lk(other.lock_);
  fd_.store(other.fd_.exchange(-1, std::memory_order_acq_rel), std::memory_order_release);
  reg_ = other.reg_;
  other.reg_ = {};
}

registered_fd& registered_fd::operator=(registered_fd&& other) noexcept {
  if (this != &other) {
    reset();
    std::lock_guard lk(other.lock_);
    std::lock_guard mine(lock_);
    fd_.store(other.fd_.exchange(-1, std::memory_order_acq_rel), std::memory_order_release);
    reg_ = other.reg_;
    other.reg_ = {};
  }
  return *this;
}

void registered_fd::reset(int fd) noexcept {
  std::lock_guard lk(lock_);
  end_registration(reg_);
  fd_.store(fd, std::memory_order_release);
}

bool registered_fd::add_waiter(detail::owner_waiter& /*w*/, int fd) noexcept {
  // Nothing to publish (the fd is not ours to close); only check the fd is still the one.
  return this->fd() == fd;
}

void registered_fd::remove_waiter(detail::owner_waiter& /*w*/) noexcept {}

bool registered_fd::publish(detail::owner_waiter& /*w*/, detail::reactor& r, detail::fd_wait& node,
                            detail::fd_wait* writer) {
  // Nothing to list (the fd is not ours to close); only check the fd is still the one.
  if (this->fd() != node.fd) {
    node.revents = detail::fd_closed_event;
    return false;
  }
  std::lock_guard lk(lock_);
  return r.add(node, writer, reg_, detail::io_mode::level) == detail::reactor::queued::waiting;
}

void registered_fd::wait(bool for_write, deadline until, const char* call) {
  const int fd = this->fd();
  if (fd < 0) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                   detail::describe_call(call, fd));
  }
  detail::throw_unless_ready(
      detail::wait_for_fd(detail::current_context(), fd, for_write, until, this), call, fd);
}

void registered_fd::wait_readable(deadline until) {
  wait(false, until, "balrog::registered_fd::wait_readable");
}

void registered_fd::wait_writable(deadline until) {
  wait(true, until, "balrog::registered_fd::wait_writable");
}

}  // namespace balrog
