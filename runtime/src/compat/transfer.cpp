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

transfer_waiter::next transfer_waiter::wait(std::size_t done, bool partial,
                                            bool sleep_only) noexcept {
  const short events = dir_ == direction::in ? POLLIN : POLLOUT;
  const pollfd interest{fd_, events, 0};
  armed_wait w({&interest, 1});
  switch (w.arm()) {
    case armed_wait::state::failed:
      return next::failed;
    case armed_wait::state::ready:
      // Ready already (or closed: never retry then, the number may mean another file now).
      if ((w.revents() & POLLNVAL) != 0) {
        errno = EBADF;
        return next::failed;
      }
      return next::retry;
    case armed_wait::state::armed:
      break;
  }
  balrog::detail::fd_facts& facts = w.facts();
  // Blocking semantics: wait at all (blocking fd), and after a partial transfer go on (sends;
  // receives with MSG_WAITALL on a stream socket).
  if (is_nonblocking(fd_, facts)) return next::would_block;
  if (partial && dir_ == direction::in && !is_stream(fd_, facts)) return next::stop;
  if (!until_) {
    until_ = timeout_of(fd_, dir_ == direction::in ? SO_RCVTIMEO : SO_SNDTIMEO, facts);
  }
  if (sleep_only) {
    w.cancel();
    if (until_->expired()) return next::timed_out;
    return sleep_until(earliest(*until_, deadline(std::chrono::milliseconds(1)))) == 0
               ? next::retry
               : next::failed;
  }
  if (done > 0) {
    // Before each further attempt: a pending error (POLLERR; POLLHUP for sends) ends the call
    // with the count, leaving the error for the next call as the kernel does.
    const short error_pending =
        static_cast<short>(POLLERR | POLLNVAL | (dir_ == direction::out ? POLLHUP : 0));
    const short now = poll_now(fd_, events);
    if ((now & error_pending) != 0) return next::stop;
    if (now != 0) return next::retry;
  }
  switch (w.wait(*until_)) {
    case wait_status::timed_out:
      return next::timed_out;
    case wait_status::failed:
      return next::failed;
    case wait_status::woken:
      break;
  }
  const std::uint32_t revents = w.revents();
  // Closed under the wait (the number may already mean another connection): never retry.
  if ((revents & POLLNVAL) != 0) {
    errno = EBADF;
    return next::failed;
  }
  const auto error_pending =
      static_cast<std::uint32_t>(POLLERR | (dir_ == direction::out ? POLLHUP : 0));
  if (done > 0 && (revents & error_pending) != 0) return next::stop;
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
