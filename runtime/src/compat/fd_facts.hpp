// What the compat layer asks about an fd before emulating a blocking call, and the errno
// conventions of its results. Each question costs a system call: callers ask only when needed.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>

#include "balrog/deadline.hpp"
#include "reactor/reactor.hpp"

namespace balrog::compat::detail {

// O_NONBLOCK is set on the open file. Also true when F_GETFL fails (a bad fd): the caller then
// makes the original call, which reports the error itself.
[[nodiscard]] bool fd_is_nonblocking(int fd) noexcept;

// When a blocking call that starts waiting now must give up: now + SO_RCVTIMEO or SO_SNDTIMEO
// (`option`), or never (no timeout set, or not a socket).
[[nodiscard]] deadline socket_timeout(int fd, int option) noexcept;

// A SOCK_STREAM socket (TCP, Unix stream): the only kind whose transfers can be partial.
[[nodiscard]] bool is_stream_socket(int fd) noexcept;

// The same questions, answered from what the reactor remembers of the fd's file (`facts`, as
// armed_wait::facts() gives them right after arming the fd) and asked of the kernel only the
// first time.
[[nodiscard]] bool is_nonblocking(int fd, balrog::detail::fd_facts& facts) noexcept;
[[nodiscard]] bool is_stream(int fd, balrog::detail::fd_facts& facts) noexcept;
[[nodiscard]] deadline timeout_of(int fd, int option, balrog::detail::fd_facts& facts) noexcept;

// -1 with errno = err.
inline ssize_t fail(int err) noexcept {
  errno = err;
  return -1;
}

// What a transfer that stopped on `err` returns: the count when something was transferred
// (the kernel's rule; the error is left for the next call), else -1 with errno = err.
inline ssize_t partial_or_fail(std::size_t done, int err) noexcept {
  return done > 0 ? static_cast<ssize_t>(done) : fail(err);
}

// Restores errno when a call succeeds: the extra system calls of an emulation (EAGAIN
// attempts, probes) must not leave traces where libc would leave none.
class errno_on_success {
 public:
  errno_on_success() noexcept : saved_(errno) {}
  template <class T>
  T operator()(T result) const noexcept {
    if (result >= 0) errno = saved_;
    return result;
  }

 private:
  int saved_;
};

}  // namespace balrog::compat::detail
