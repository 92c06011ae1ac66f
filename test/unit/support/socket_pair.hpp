// A connected pair of non-blocking Unix stream sockets, closed when the pair goes: the plain
// descriptors the reactor and registered_fd tests wait on.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace balrog::test {

struct socket_pair {
  int a = -1;
  int b = -1;
  socket_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
      throw std::runtime_error("socketpair");
    }
    a = sv[0];
    b = sv[1];
  }
  socket_pair(const socket_pair&) = delete;
  socket_pair& operator=(const socket_pair&) = delete;
  ~socket_pair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

}  // namespace balrog::test
