// connect, accept and accept4 of balrog/compat/posix_net.hpp.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>

#include "balrog/compat/posix_net.hpp"
#include "compat/fd_facts.hpp"
#include "compat/wait_for_fd.hpp"
#include "net/socket_ops.hpp"

namespace balrog::compat {

namespace {

using namespace std::chrono_literals;

bool sync_mode() noexcept { return detail::current_place() == detail::place::thread; }

// A connect in progress on a socket: wait until writable, then read the outcome (SO_ERROR),
// exactly as a blocking connect would report it. SO_SNDTIMEO passing first is EINPROGRESS,
// as for Linux's blocking connect (the attempt goes on in the background).
int finish_connecting(int fd, deadline until) noexcept {
  for (;;) {
    const int r = detail::wait_for_fd(fd, POLLOUT, until);
    if (r == 0) return static_cast<int>(detail::fail(EINPROGRESS));
    if (r < 0) return -1;
    if ((r & POLLNVAL) != 0) return static_cast<int>(detail::fail(EBADF));  // closed meanwhile
    const auto outcome = net::detail::finish_connect(fd);
    switch (outcome.state) {
      case net::detail::progress::done:
        return 0;
      case net::detail::progress::failed:
        return static_cast<int>(detail::fail(outcome.error));
      case net::detail::progress::want_read:
      case net::detail::progress::want_write:
        break;  // still connecting: the wake-up was early
    }
  }
}

// connect(2) on a socket in blocking mode (`flags` are its file status flags), on a fiber.
int connect_blocking(int fd, int flags, const sockaddr* addr, socklen_t len) noexcept {
  std::optional<deadline> until;  // SO_SNDTIMEO, from the first wait on
  auto pause = 1ms;
  for (;;) {
    // O_NONBLOCK for this one call: the attempt then goes on without us.
    if (::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return ::connect(fd, addr, len);
    const int r = ::connect(fd, addr, len);
    const int err = errno;
    ::fcntl(fd, F_SETFL, flags);
    if (r == 0) return 0;
    if (!until) until = detail::socket_timeout(fd, SO_SNDTIMEO);
    // EALREADY: an earlier connect (interrupted by a cancellation) is still in progress; a
    // blocking connect waits for its outcome.
    if (err == EINPROGRESS || err == EALREADY) return finish_connecting(fd, *until);
    // A Unix listener with a full backlog: a blocking connect waits for room, which no fd
    // event announces. Try again after short pauses.
    if (err == EAGAIN && addr != nullptr && addr->sa_family == AF_UNIX) {
      if (until->expired()) return static_cast<int>(detail::fail(EAGAIN));
      if (detail::sleep_until(earliest(*until, deadline(pause))) != 0) return -1;
      pause = std::min(pause * 2, std::chrono::milliseconds(32));
      continue;
    }
    return static_cast<int>(detail::fail(err));
  }
}

// accept or accept4 (`call`) on a fiber: on a blocking listener, wait until readable (at most
// SO_RCVTIMEO: then EAGAIN, as the kernel says), then accept.
template <class Call>
int accept_on_fiber(int fd, Call call) {
  if (detail::fd_is_nonblocking(fd)) return call();
  const detail::errno_on_success keep;
  if (detail::poll_now(fd, POLLIN) == 0) {
    const int r = detail::wait_for_fd(fd, POLLIN, detail::socket_timeout(fd, SO_RCVTIMEO));
    if (r == 0) return static_cast<int>(detail::fail(EAGAIN));
    if (r < 0) return -1;
    if ((r & POLLNVAL) != 0) return static_cast<int>(detail::fail(EBADF));  // closed meanwhile
  }
  return keep(call());
}

}  // namespace

int connect(int fd, const sockaddr* addr, socklen_t len) {
  if (sync_mode()) return ::connect(fd, addr, len);
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_NONBLOCK) != 0) return ::connect(fd, addr, len);
  const detail::errno_on_success keep;
  return keep(connect_blocking(fd, flags, addr, len));
}

int accept(int fd, sockaddr* addr, socklen_t* addr_len) {
  if (sync_mode()) return ::accept(fd, addr, addr_len);
  return accept_on_fiber(fd, [&] { return ::accept(fd, addr, addr_len); });
}

int accept4(int fd, sockaddr* addr, socklen_t* addr_len, int flags) {
  if (sync_mode()) return ::accept4(fd, addr, addr_len, flags);
  return accept_on_fiber(fd, [&] { return ::accept4(fd, addr, addr_len, flags); });
}

}  // namespace balrog::compat
