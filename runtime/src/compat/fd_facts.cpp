#include "compat/fd_facts.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>

namespace balrog::compat::detail {

namespace {

using balrog::detail::fd_facts;

// SO_RCVTIMEO / SO_SNDTIMEO as a duration; zero for none (or not a socket).
clock::duration timeout_option(int fd, int option) noexcept {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, option, &tv, &len) != 0) return clock::duration::zero();
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

deadline from_now(clock::duration timeout) noexcept {
  return timeout == clock::duration::zero() ? deadline::never() : deadline(timeout);
}

}  // namespace

bool fd_is_nonblocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags < 0 || (flags & O_NONBLOCK) != 0;
}

deadline socket_timeout(int fd, int option) noexcept {
  return from_now(timeout_option(fd, option));
}

bool is_nonblocking(int fd, fd_facts& facts) noexcept {
  if ((facts.known & fd_facts::nonblocking_known) == 0) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) return true;  // a bad fd: the caller's next call reports it; remember nothing
    facts.nonblocking = (flags & O_NONBLOCK) != 0;
    facts.known |= fd_facts::nonblocking_known;
  }
  return facts.nonblocking;
}

bool is_stream(int fd, fd_facts& facts) noexcept {
  if ((facts.known & fd_facts::stream_known) == 0) {
    facts.stream = is_stream_socket(fd);
    facts.known |= fd_facts::stream_known;
  }
  return facts.stream;
}

deadline timeout_of(int fd, int option, fd_facts& facts) noexcept {
  const bool receive = option == SO_RCVTIMEO;
  const std::uint8_t bit = receive ? fd_facts::rcvtimeo_known : fd_facts::sndtimeo_known;
  clock::duration& value = receive ? facts.rcvtimeo : facts.sndtimeo;
  if ((facts.known & bit) == 0) {
    value = timeout_option(fd, option);
    facts.known |= bit;
  }
  return from_now(value);
}

bool is_stream_socket(int fd) noexcept {
  int type = 0;
  socklen_t len = sizeof type;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

}  // namespace balrog::compat::detail
