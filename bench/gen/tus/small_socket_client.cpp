// bench/gen input, "small": a plain POSIX socket client, C headers only. The kind of file
// balrog-gen sees most often in C-style code: a handful of blocking calls
// (connect, send, recv, poll, usleep) and almost no header weight.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

namespace bench_gen {

int connect_loopback(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    usleep(10000);
  }
  ::close(fd);
  return -1;
}

bool send_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t k = send(fd, data, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    data += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

ssize_t recv_line(int fd, char* buf, std::size_t cap) {
  std::size_t got = 0;
  while (got + 1 < cap) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) return -1;
    const ssize_t k = recv(fd, buf + got, 1, 0);
    if (k <= 0) return k;
    if (buf[got++] == '\n') break;
  }
  buf[got] = '\0';
  return static_cast<ssize_t>(got);
}

int ping(unsigned short port) {
  const int fd = connect_loopback(port);
  if (fd < 0) return 1;
  char line[256];
  const char* msg = "PING\n";
  if (!send_all(fd, msg, std::strlen(msg)) || recv_line(fd, line, sizeof line) <= 0) {
    ::close(fd);
    return 1;
  }
  std::printf("%s", line);
  sleep(0);
  ::close(fd);
  return 0;
}

}  // namespace bench_gen
