// Helpers shared by the compat tests (header-only): fds that close themselves, loopback socket
// pairs, a ticking fiber that proves the thread kept running fibers while another fiber waited
// in a compat call, and a helper that runs the same scenario in sync mode on a plain thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace compat_test {

using namespace std::chrono_literals;
using balrog_test::stopwatch;

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }
  [[nodiscard]] int get() const { return fd_; }
  operator int() const { return fd_; }  // NOLINT: used as an fd everywhere
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Gives up ownership (the caller closed the fd, or will).
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

inline int file_flags(int fd) { return ::fcntl(fd, F_GETFL); }
inline int fd_flags(int fd) { return ::fcntl(fd, F_GETFD); }
inline void set_nonblocking(int fd, bool on) {
  const int fl = file_flags(fd);
  check(::fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0, "F_SETFL");
}

// Two connected Unix-domain sockets of `type`, in blocking mode.
inline std::pair<unique_fd, unique_fd> unix_pair(int type = SOCK_STREAM) {
  int sv[2];
  check(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
  return {unique_fd(sv[0]), unique_fd(sv[1])};
}

// A blocking pipe: {read end, write end}.
inline std::pair<unique_fd, unique_fd> blocking_pipe() {
  int p[2];
  check(::pipe2(p, O_CLOEXEC) == 0, "pipe2");
  return {unique_fd(p[0]), unique_fd(p[1])};
}

inline sockaddr_in loopback(std::uint16_t port = 0) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

inline const sockaddr* as_sockaddr(const sockaddr_in& a) {
  return reinterpret_cast<const sockaddr*>(&a);
}

struct tcp_listener {
  unique_fd fd;
  sockaddr_in addr{};
};

// A blocking TCP listener on 127.0.0.1 and an ephemeral port.
inline tcp_listener tcp_listen(int backlog = 16) {
  tcp_listener l{unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0))};
  check(l.fd >= 0, "socket");
  sockaddr_in a = loopback();
  check(::bind(l.fd, as_sockaddr(a), sizeof a) == 0, "bind");
  check(::listen(l.fd, backlog) == 0, "listen");
  socklen_t len = sizeof l.addr;
  check(::getsockname(l.fd, reinterpret_cast<sockaddr*>(&l.addr), &len) == 0, "getsockname");
  return l;
}

inline unique_fd tcp_socket() {
  unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  check(s >= 0, "socket");
  return s;
}

// A connected pair of blocking TCP sockets on loopback: {client, server side}.
inline std::pair<unique_fd, unique_fd> tcp_pair() {
  tcp_listener l = tcp_listen();
  unique_fd c = tcp_socket();
  check(::connect(c, as_sockaddr(l.addr), sizeof l.addr) == 0, "connect");
  unique_fd s(::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
  check(s >= 0, "accept");
  return {std::move(c), std::move(s)};
}

// A loopback address where nobody listens (an ephemeral port just released).
inline sockaddr_in closed_port() {
  tcp_listener l = tcp_listen();
  return l.addr;
}

inline void set_timeout(int fd, int option, std::chrono::microseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1'000'000),
             static_cast<suseconds_t>(t.count() % 1'000'000)};
  check(::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv) == 0, "setsockopt timeout");
}

inline void set_int_option(int fd, int level, int option, int value) {
  check(::setsockopt(fd, level, option, &value, sizeof value) == 0, "setsockopt");
}

// Closes a TCP socket with a reset (RST) instead of an orderly FIN.
inline void close_with_reset(unique_fd& fd) {
  linger l{1, 0};
  check(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0, "SO_LINGER");
  fd.reset();
}

// Fills the send buffer of a blocking stream socket; returns the bytes queued.
inline std::size_t fill_send_buffer(int fd) {
  set_nonblocking(fd, true);
  std::size_t total = 0;
  char chunk[4096] = {};
  for (;;) {
    const ssize_t n = ::send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  set_nonblocking(fd, false);
  return total;
}

// Counts milliseconds on a fiber of its own while the creating fiber does something else. If
// that something blocked the thread, the ticker could not tick.
class ticker {
 public:
  ticker()
      : fiber_(balrog::spawn(
            [this] {
              while (!stop_) {
                balrog::this_fiber::sleep_for(1ms);
                ticks_.fetch_add(1);
              }
            },
            {.name = "ticker"})) {}
  ticker(const ticker&) = delete;
  ticker& operator=(const ticker&) = delete;
  ~ticker() { stop(); }
  // Stops the ticker; returns how many times it ticked.
  int stop() {
    stop_ = true;
    if (fiber_.joinable()) fiber_.join();
    return ticks_.load();
  }
  [[nodiscard]] int ticks() const { return ticks_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> ticks_{0};
  balrog::fiber<void> fiber_;
};

// Ticks that prove the thread ran other fibers while a fiber waited (about `waited`). Had the
// wait blocked the thread, the ticker could tick at most once: when stop() lets it finish a
// sleep begun before the wait. Two is therefore proof; more is not required, because a loaded
// machine (sanitizers, parallel tests) stretches each 1 ms tick.
inline int enough_ticks(std::chrono::milliseconds waited) { return waited >= 10ms ? 2 : 1; }

// Runs `fn` after `delay` on a thread of its own (the other end of a socket, typically).
class later {
 public:
  later(std::chrono::milliseconds delay, std::function<void()> fn)
      : thread_([delay, fn = std::move(fn)] {
          std::this_thread::sleep_for(delay);
          fn();
        }) {}
  later(const later&) = delete;
  later& operator=(const later&) = delete;
  ~later() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

// SIGPIPE ignored for the scope (tests that break connections), restored afterwards.
class ignore_sigpipe {
 public:
  ignore_sigpipe() {
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &sa, &old_);
  }
  ignore_sigpipe(const ignore_sigpipe&) = delete;
  ignore_sigpipe& operator=(const ignore_sigpipe&) = delete;
  ~ignore_sigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

// The outcome of a libc-style call: its result and errno (when it failed).
struct outcome {
  long result;
  int error;
  friend bool operator==(const outcome&, const outcome&) = default;
  friend std::ostream& operator<<(std::ostream& os, const outcome& o) {
    return os << "{result " << o.result << ", errno " << o.error << " ("
              << (o.error != 0 ? std::strerror(o.error) : "-") << ")}";
  }
};

template <class F>
outcome call(F&& f) {
  errno = 0;
  const long r = static_cast<long>(std::forward<F>(f)());
  return {r, r < 0 ? errno : 0};
}

}  // namespace compat_test
