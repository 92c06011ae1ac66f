// Blocking-mode data transfers emulated on a fiber: the one loop behind recv, send, recvfrom,
// sendto, recvmsg, sendmsg and read/write on sockets, and the readiness-first paths of read and
// write on other fds (pipes, ttys).
//
// A socket transfer makes non-blocking attempts (MSG_DONTWAIT) and waits between them. It keeps
// the kernel's blocking semantics (see balrog/compat/posix_net.hpp):
//  - a receive returns what is there; MSG_WAITALL on a stream socket continues until the whole
//    request, end of stream, an error or the timeout; a send continues until everything went;
//  - after part of the request, an error or timeout ends the call with the count; before each
//    further attempt the fd is polled, and a pending error (POLLERR; POLLHUP for sends) ends
//    the call there, so the error is left for the next call as the kernel leaves it;
//  - SO_RCVTIMEO / SO_SNDTIMEO bound the whole call (-1/EAGAIN when nothing was transferred);
//  - MSG_DONTWAIT, or an fd in non-blocking mode, makes it a single libc call.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "balrog/deadline.hpp"
#include "compat/fd_facts.hpp"

namespace balrog::compat::detail {

enum class direction : std::uint8_t { in, out };

// How a transfer waits between attempts, and what it needs to know about its fd to decide
// whether to wait at all (blocking mode, stream socket, SO_RCVTIMEO / SO_SNDTIMEO). Those
// facts are remembered by the reactor for the fd's file: each wait first arms the fd (which
// proves the number still means that file), then asks only what it does not know yet. So a
// recv that has to wait costs the EAGAIN attempt, one epoll_ctl, the wait and the attempt
// that succeeds.
class transfer_waiter {
 public:
  transfer_waiter(int fd, direction dir) noexcept : fd_(fd), dir_(dir) {}

  enum class next : std::uint8_t {
    retry,        // make the next attempt
    stop,         // part was transferred and the call ends there: return the count
    would_block,  // non-blocking fd: the caller wants the EAGAIN (or the partial count)
    timed_out,    // SO_RCVTIMEO / SO_SNDTIMEO passed
    failed,       // errno: ECANCELED, ETIMEDOUT, EDEADLK, EBADF (closed meanwhile)...
  };
  // After an attempt that would block, or a partial transfer that blocking semantics may want
  // to complete (`partial`: a send, or a receive with MSG_WAITALL), with `done` bytes
  // transferred so far: decides whether to wait, and waits.
  // `sleep_only`: readiness cannot tell when to retry (MSG_PEEK|MSG_WAITALL with some data
  // there): sleep a millisecond.
  next wait(std::size_t done, bool partial, bool sleep_only) noexcept;

 private:
  int fd_;
  direction dir_;
  std::optional<deadline> until_;  // from the first wait on
};

// Runs a socket transfer of `total` bytes. `attempt(done, flags)` makes the call for the part
// after the first `done` bytes with `flags` (the caller's, plus MSG_DONTWAIT) and returns what
// the system call returned.
template <class Attempt>
ssize_t socket_transfer(int fd, direction dir, int flags, std::size_t total, Attempt&& attempt) {
  if ((flags & MSG_DONTWAIT) != 0) return attempt(std::size_t{0}, flags);
  // Peeking again returns the same bytes from the start: re-peek the whole request.
  const bool repeek = dir == direction::in && (flags & MSG_PEEK) != 0 && (flags & MSG_WAITALL) != 0;
  transfer_waiter waiter(fd, dir);
  std::size_t done = 0;
  for (;;) {
    const ssize_t n = attempt(repeek ? std::size_t{0} : done, flags | MSG_DONTWAIT);
    bool partial = false;
    if (n < 0) {
      const int err = errno;
      if (err != EAGAIN && err != EWOULDBLOCK) return partial_or_fail(done, err);
    } else {
      done = repeek ? static_cast<std::size_t>(n) : done + static_cast<std::size_t>(n);
      if (n == 0 || done >= total) return static_cast<ssize_t>(done);
      // A receive returns what is there, unless MSG_WAITALL asks for the whole request.
      if (dir == direction::in && (flags & MSG_WAITALL) == 0) return static_cast<ssize_t>(done);
      partial = true;
    }
    switch (waiter.wait(done, partial, partial && repeek)) {
      case transfer_waiter::next::retry:
        break;
      case transfer_waiter::next::stop:
        return static_cast<ssize_t>(done);
      case transfer_waiter::next::would_block:
      case transfer_waiter::next::timed_out:
        return partial_or_fail(done, EAGAIN);
      case transfer_waiter::next::failed:
        return partial_or_fail(done, errno);
    }
  }
}

// read/write on an fd that is not a socket, on a fiber. Non-blocking mode: the libc call.
// Blocking mode: wait until poll(2) reports the fd ready, then read once (what is there);
// writes to FIFOs and character devices (ttys) go in chunks of at most PIPE_BUF bytes, each
// once the fd is writable, until all went; other files (regular files) are written at once.
ssize_t read_not_socket(int fd, void* buf, std::size_t count) noexcept;
ssize_t write_not_socket(int fd, const void* buf, std::size_t count) noexcept;

}  // namespace balrog::compat::detail
