// balrog::compat connect / accept / accept4: on fibers and in sync mode, against libc.
#include <gtest/gtest.h>
#include <sys/un.h>

#include <cstdio>
#include <string>

#include "balrog/compat/posix_net.hpp"
#include "compat_test_support.hpp"

namespace compat = balrog::compat;
using namespace compat_test;

namespace {

// A Unix-domain stream listener at a fresh path; removes the path when done.
struct unix_listener {
  unique_fd fd;
  sockaddr_un addr{};
  explicit unix_listener(int backlog) : fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    addr.sun_family = AF_UNIX;
    static std::atomic<int> n{0};
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "/tmp/balrog-compat-%d-%d", ::getpid(),
                  n.fetch_add(1));
    ::unlink(addr.sun_path);
    check(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
    check(::listen(fd, backlog) == 0, "listen");
  }
  ~unix_listener() { ::unlink(addr.sun_path); }
  [[nodiscard]] const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

unique_fd unix_socket() {
  unique_fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  check(s >= 0, "socket");
  return s;
}

}  // namespace

TEST(CompatConnectAccept, AcceptAndConnectOnFibers) {
  tcp_listener l = tcp_listen();
  balrog::run([&] {
    ticker t;
    auto server = balrog::spawn([&] {
      unique_fd conn(compat::accept(l.fd, nullptr, nullptr));
      EXPECT_GE(conn, 0);
      // A blocking accept gives a blocking fd without close-on-exec.
      EXPECT_EQ(file_flags(conn) & O_NONBLOCK, 0);
      EXPECT_EQ(fd_flags(conn) & FD_CLOEXEC, 0);
      char buf[8];
      EXPECT_EQ(compat::recv(conn, buf, 4, MSG_WAITALL), 4);
      EXPECT_EQ(compat::send(conn, buf, 4, 0), 4);
    });
    balrog::this_fiber::sleep_for(20ms);  // the server waits in accept meanwhile
    unique_fd c = tcp_socket();
    const int flags_before = file_flags(c);
    ASSERT_EQ(compat::connect(c, as_sockaddr(l.addr), sizeof l.addr), 0);
    EXPECT_EQ(file_flags(c), flags_before);  // blocking again
    EXPECT_EQ(compat::send(c, "ping", 4, 0), 4);
    char buf[8];
    EXPECT_EQ(compat::recv(c, buf, 4, MSG_WAITALL), 4);
    EXPECT_EQ(std::string(buf, 4), "ping");
    server.join();
    EXPECT_EQ(file_flags(l.fd) & O_NONBLOCK, 0);  // the listener was never touched
    EXPECT_GE(t.stop(), enough_ticks(20ms));
  });
}

TEST(CompatConnectAccept, Accept4GivesTheFlagsLibcGives) {
  tcp_listener l = tcp_listen();
  const auto accepted_flags = [&](auto accept4_fn, int flags) {
    unique_fd c = tcp_socket();
    check(::connect(c, as_sockaddr(l.addr), sizeof l.addr) == 0, "connect");
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    unique_fd a(accept4_fn(l.fd, reinterpret_cast<sockaddr*>(&peer), &len, flags));
    EXPECT_GE(a, 0);
    EXPECT_EQ(len, sizeof peer);
    EXPECT_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    return std::pair(file_flags(a) & O_NONBLOCK, fd_flags(a) & FD_CLOEXEC);
  };
  for (const int flags : {0, int{SOCK_CLOEXEC}, int{SOCK_NONBLOCK}, SOCK_NONBLOCK | SOCK_CLOEXEC}) {
    const auto libc = accepted_flags(::accept4, flags);
    EXPECT_EQ(balrog::run([&] { return accepted_flags(compat::accept4, flags); }), libc);
    EXPECT_EQ(accepted_flags(compat::accept4, flags), libc);  // sync mode
  }
}

TEST(CompatConnectAccept, ConnectRefusedLikeLibc) {
  const sockaddr_in nobody = closed_port();
  const auto scenario = [&](auto connect_fn) {
    unique_fd c = tcp_socket();
    const int flags_before = file_flags(c);
    const outcome o = call([&] { return connect_fn(c, as_sockaddr(nobody), sizeof nobody); });
    EXPECT_EQ(file_flags(c), flags_before);
    return o;
  };
  const outcome libc = scenario(::connect);
  EXPECT_EQ(libc, (outcome{-1, ECONNREFUSED}));
  EXPECT_EQ(balrog::run([&] { return scenario(compat::connect); }), libc);
  EXPECT_EQ(scenario(compat::connect), libc);
}

// Linux: a blocking connect whose SO_SNDTIMEO passes fails with EINPROGRESS (the handshake
// goes on). A listener with backlog 0 and one queued connection drops further SYNs.
TEST(CompatConnectAccept, ConnectHonoursSoSndtimeoLikeLibc) {
  tcp_listener l = tcp_listen(0);
  unique_fd first = tcp_socket();
  ASSERT_EQ(::connect(first, as_sockaddr(l.addr), sizeof l.addr), 0);
  const auto scenario = [&](auto connect_fn) {
    unique_fd c = tcp_socket();
    set_timeout(c, SO_SNDTIMEO, 30ms);
    const int flags_before = file_flags(c);
    const stopwatch sw;
    const outcome o = call([&] { return connect_fn(c, as_sockaddr(l.addr), sizeof l.addr); });
    EXPECT_GE(sw.elapsed(), 25ms);
    EXPECT_EQ(file_flags(c), flags_before);
    return o;
  };
  const outcome libc = scenario(::connect);
  EXPECT_EQ(libc, (outcome{-1, EINPROGRESS}));
  balrog::run([&] {
    ticker t;
    EXPECT_EQ(scenario(compat::connect), libc);
    EXPECT_GE(t.stop(), enough_ticks(30ms));
  });
  EXPECT_EQ(scenario(compat::connect), libc);
}

TEST(CompatConnectAccept, AcceptHonoursSoRcvtimeoLikeLibc) {
  tcp_listener l = tcp_listen();
  set_timeout(l.fd, SO_RCVTIMEO, 30ms);
  const auto scenario = [&](auto accept_fn) {
    const stopwatch sw;
    const outcome o = call([&] { return accept_fn(l.fd, nullptr, nullptr); });
    EXPECT_GE(sw.elapsed(), 25ms);
    return o;
  };
  const outcome libc = scenario(::accept);
  EXPECT_EQ(libc, (outcome{-1, EAGAIN}));
  balrog::run([&] {
    ticker t;
    EXPECT_EQ(scenario(compat::accept), libc);
    EXPECT_GE(t.stop(), enough_ticks(30ms));
  });
  EXPECT_EQ(scenario(compat::accept), libc);
}

TEST(CompatConnectAccept, NonBlockingSocketsGetLibcsAnswersAtOnce) {
  tcp_listener l = tcp_listen();
  set_nonblocking(l.fd, true);
  const outcome libc_accept = call([&] { return ::accept(l.fd, nullptr, nullptr); });
  EXPECT_EQ(libc_accept, (outcome{-1, EAGAIN}));
  balrog::run([&] {
    EXPECT_EQ(call([&] { return compat::accept(l.fd, nullptr, nullptr); }), libc_accept);
    unique_fd c = tcp_socket();
    set_nonblocking(c, true);
    const outcome o = call([&] { return compat::connect(c, as_sockaddr(l.addr), sizeof l.addr); });
    // Loopback may complete at once; otherwise the caller gets EINPROGRESS, as from libc.
    EXPECT_TRUE(o == (outcome{0, 0}) || o == (outcome{-1, EINPROGRESS})) << o;
    EXPECT_NE(file_flags(c) & O_NONBLOCK, 0);
  });
}

// A Unix listener with a full backlog: a blocking connect waits for room (a non-blocking one
// fails with EAGAIN); on a fiber the thread keeps running, and the connect completes once
// another fiber accepted.
TEST(CompatConnectAccept, UnixConnectWaitsForRoomInTheBacklog) {
  unix_listener l(0);
  unique_fd first = unix_socket();
  ASSERT_EQ(::connect(first, l.sa(), sizeof l.addr), 0);
  {
    unique_fd probe = unix_socket();
    set_nonblocking(probe, true);
    EXPECT_EQ(call([&] { return ::connect(probe, l.sa(), sizeof l.addr); }), (outcome{-1, EAGAIN}));
  }
  balrog::run([&] {
    ticker t;
    auto acceptor = balrog::spawn([&] {
      balrog::this_fiber::sleep_for(30ms);
      unique_fd a(compat::accept(l.fd, nullptr, nullptr));
      EXPECT_GE(a, 0);
      return a;
    });
    unique_fd c = unix_socket();
    const stopwatch sw;
    EXPECT_EQ(compat::connect(c, l.sa(), sizeof l.addr), 0);
    EXPECT_GE(sw.elapsed(), 25ms);
    EXPECT_EQ(file_flags(c) & O_NONBLOCK, 0);
    acceptor.join();
    EXPECT_GE(t.stop(), enough_ticks(30ms));
  });
}

TEST(CompatConnectAccept, DatagramConnectCompletesAtOnce) {
  unique_fd u(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const sockaddr_in to = loopback(9);
  balrog::run([&] { EXPECT_EQ(compat::connect(u, as_sockaddr(to), sizeof to), 0); });
}

TEST(CompatConnectAccept, SyncModeOnAPlainThread) {
  tcp_listener l = tcp_listen();
  std::thread plain([&] {
    unique_fd c = tcp_socket();
    const stopwatch sw;
    later client(20ms, [&] { check(::connect(c, as_sockaddr(l.addr), sizeof l.addr) == 0, "c"); });
    unique_fd a(compat::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
    EXPECT_GE(a, 0);
    EXPECT_GE(sw.elapsed(), 15ms);
    client.join();
    unique_fd d = tcp_socket();
    EXPECT_EQ(compat::connect(d, as_sockaddr(l.addr), sizeof l.addr), 0);
  });
  plain.join();
}
