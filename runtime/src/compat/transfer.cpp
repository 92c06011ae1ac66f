#include "compat/transfer.hpp"

#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "compat/fd_facts.hpp"
#include "compat/wait_for_fd.hpp"

namespace balrog::compat::detail {

bool transfer_waiter::blocking() noexcept {
  if (!blocking_) blocking_ = !fd_is_nonblocking(fd_);
  return *blocking_;
}

bool transfer_waiter::keeps_going(int flags) noexcept {
  if (dir_ == direction::out) return blocking();
  return (flags & MSG_WAITALL) != 0 && blocking() && is_stream_socket(fd_);
}

transfer_waiter::next transfer_waiter::wait(bool continuation, bool sleep_only) noexcept {
  if (!until_) until_ = socket_timeout(fd_, dir_ == direction::in ? SO_RCVTIMEO : SO_SNDTIMEO);
  if (sleep_only) {
    if (until_->expired()) return next::timed_out;
    return sleep_until(earliest(*until_, deadline(std::chrono::milliseconds(1)))) == 0
               ? next::retry
               : next::failed;
  }
  const short events = dir_ == direction::in ? POLLIN : POLLOUT;
  short revents = continuation ? poll_now(fd_, events) : short{0};
  if (revents == 0) {
    const int r = wait_for_fd(fd_, events, *until_);
    if (r == 0) return next::timed_out;
    if (r < 0) return next::failed;
    revents = static_cast<short>(r);
    // Closed under the wait (the number may already mean another connection): never retry.
    if ((revents & POLLNVAL) != 0) {
      errno = EBADF;
      return next::failed;
    }
  }
  const short error_pending =
      static_cast<short>(POLLERR | POLLNVAL | (dir_ == direction::out ? POLLHUP : 0));
  if (continuation && (revents & error_pending) != 0) return next::stop;
  return next::retry;
}

ssize_t read_not_socket(int fd, void* buf, std::size_t count) noexcept {
  if (!fd_is_nonblocking(fd) && poll_now(fd, POLLIN) == 0) {
    const int r = wait_for_fd(fd, POLLIN, deadline::never());
    if (r < 0) return -1;
    if ((r & POLLNVAL) != 0) return fail(EBADF);  // closed under the wait
  }
  return ::read(fd, buf, count);
}

ssize_t write_not_socket(int fd, const void* buf, std::size_t count) noexcept {
  struct stat st {};
  if (fd_is_nonblocking(fd) || ::fstat(fd, &st) != 0 ||
      !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
    return ::write(fd, buf, count);
  }
  // A writable pipe has a free page: PIPE_BUF bytes always fit without blocking (and a write
  // of at most PIPE_BUF bytes stays atomic, as POSIX promises for blocking pipes).
  const auto* bytes = static_cast<const char*>(buf);
  std::size_t done = 0;
  for (;;) {
    short revents = poll_now(fd, POLLOUT);
    if (revents == 0) {
      const int r = wait_for_fd(fd, POLLOUT, deadline::never());
      if (r < 0) return partial_or_fail(done, errno);
      if ((r & POLLNVAL) != 0) return partial_or_fail(done, EBADF);  // closed under the wait
      revents = static_cast<short>(r);
    }
    if (done > 0 && (revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      return static_cast<ssize_t>(done);
    }
    const ssize_t n = ::write(fd, bytes + done, std::min<std::size_t>(count - done, PIPE_BUF));
    if (n < 0) return partial_or_fail(done, errno);
    done += static_cast<std::size_t>(n);
    if (done >= count) return static_cast<ssize_t>(done);
  }
}

}  // namespace balrog::compat::detail
