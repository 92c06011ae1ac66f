#include "compat/fd_facts.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>

namespace balrog::compat::detail {

bool fd_is_nonblocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags < 0 || (flags & O_NONBLOCK) != 0;
}

deadline socket_timeout(int fd, int option) noexcept {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, option, &tv, &len) != 0) return deadline::never();
  if (tv.tv_sec == 0 && tv.tv_usec == 0) return deadline::never();
  return deadline(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
}

bool is_stream_socket(int fd) noexcept {
  int type = 0;
  socklen_t len = sizeof type;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

}  // namespace balrog::compat::detail
