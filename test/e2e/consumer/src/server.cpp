#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "roll_call/server.hpp"
#include "room.hpp"

#ifndef ROLL_CALL_LOOKUP_DELAY_US
#error "the build gives ROLL_CALL_LOOKUP_DELAY_US (a compile definition of roll_call_lib)"
#endif

namespace roll_call {

namespace {

// Reads one '\n'-terminated line (without it); false on EOF or error.
bool read_line(int fd, std::string& line) {
  line.clear();
  char c = 0;
  while (true) {
    const ssize_t n = ::recv(fd, &c, 1, 0);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (c == '\n') return true;
    line += c;
    if (line.size() > 100) return false;
  }
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Looks the visitor up in the (simulated, slow) guest book.
long look_up(const std::string& line) {
  if (line.rfind("HELLO ", 0) != 0) return -1;
  ::usleep(ROLL_CALL_LOOKUP_DELAY_US);
  char* end = nullptr;
  const long id = std::strtol(line.c_str() + 6, &end, 10);
  return end != nullptr && *end == '\0' && id >= 0 ? id : -1;
}

}  // namespace

int open_listener(std::uint16_t port, int backlog) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, backlog) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

std::uint16_t local_port(int listener) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

int accept_client(int listener) {
  while (true) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

bool serve_client(int fd, room& r, std::chrono::milliseconds patience) {
  std::string line;
  bool ok = false;
  if (read_line(fd, line)) {
    const long id = look_up(line);
    if (id < 0) {
      write_all(fd, "WHO?\n");
    } else {
      r.check_in();
      // Everyone is answered together, once the whole group is here.
      const auto give_up = std::chrono::steady_clock::now() + patience;
      while (!r.complete() && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (r.complete() && write_all(fd, expected_reply(id, r.group_size()))) {
        r.answered();
        ok = true;
      } else {
        write_all(fd, "TIMEOUT\n");
      }
      r.check_out();
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace roll_call
