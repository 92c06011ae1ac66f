// balrog::compat read/write/recv/send/recvfrom/sendto/recvmsg/sendmsg: on fibers (the thread
// keeps running other fibers while one waits) and in sync mode, against libc's own results.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/uio.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "balrog/compat/posix_net.hpp"
#include "compat_test_support.hpp"

namespace compat = balrog::compat;
using namespace compat_test;

namespace {

std::vector<char> pattern(std::size_t n) {
  std::vector<char> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<char>('a' + i % 23);
  return v;
}

// Reads until `n` bytes or end of stream with compat::read (on whatever runs it).
std::vector<char> read_all(int fd, std::size_t n, std::size_t chunk = 65536) {
  std::vector<char> got;
  std::vector<char> buf(chunk);
  while (got.size() < n) {
    const ssize_t r = compat::read(fd, buf.data(), buf.size());
    if (r <= 0) break;
    got.insert(got.end(), buf.begin(), buf.begin() + r);
  }
  return got;
}

}  // namespace

TEST(CompatTransfer, ReadWaitsOnAFiberAndReturnsWhatIsThere) {
  for (const bool tcp : {false, true}) {
    auto [a, b] = tcp ? tcp_pair() : unix_pair();
    balrog::run([&, &a = a, &b = b] {
      ticker t;
      const stopwatch sw;
      later writer(30ms, [&] { ASSERT_EQ(::write(b, "hello", 5), 5); });
      char buf[100];
      EXPECT_EQ(compat::read(a, buf, sizeof buf), 5);  // a partial read, as a blocking read
      EXPECT_EQ(std::string(buf, 5), "hello");
      EXPECT_GE(sw.elapsed(), 25ms);
      EXPECT_GE(t.stop(), enough_ticks(30ms));
    });
  }
}

TEST(CompatTransfer, RecvWithWaitallCollectsTheWholeRequest) {
  auto [a, b] = tcp_pair();
  balrog::run([&, &a = a, &b = b] {
    ticker t;
    later writer(5ms, [&] {
      for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(::write(b, "0123456789", 10), 10);
        std::this_thread::sleep_for(10ms);
      }
    });
    char buf[30];
    EXPECT_EQ(compat::recv(a, buf, sizeof buf, MSG_WAITALL), 30);
    EXPECT_EQ(std::string(buf, 30), "012345678901234567890123456789");
    EXPECT_GE(t.stop(), enough_ticks(20ms));
  });
}

// MSG_WAITALL ends early at end of stream, with the count; the next call sees the end.
TEST(CompatTransfer, WaitallStopsAtEndOfStreamLikeLibc) {
  const auto scenario = [](auto recv_fn) {
    auto [a, b] = tcp_pair();
    later writer(10ms, [&b = b] {
      ASSERT_EQ(::write(b, "abcde", 5), 5);
      ::shutdown(b, SHUT_WR);
    });
    char buf[64];
    const outcome first = call([&] { return recv_fn(a, buf, sizeof buf, MSG_WAITALL); });
    const outcome second = call([&] { return recv_fn(a, buf, sizeof buf, MSG_WAITALL); });
    return std::pair(first, second);
  };
  const auto libc = scenario(::recv);
  const auto fiber = balrog::run([&] { return scenario(compat::recv); });
  const auto sync = scenario(compat::recv);
  EXPECT_EQ(libc.first, (outcome{5, 0}));
  EXPECT_EQ(libc.second, (outcome{0, 0}));
  EXPECT_EQ(fiber, libc);
  EXPECT_EQ(sync, libc);
}

TEST(CompatTransfer, NonBlockingModeAndDontwaitFailWithEagainAtOnce) {
  auto [a, b] = unix_pair();
  char buf[8];
  const outcome libc_dontwait =
      call([&, &a = a] { return ::recv(a, buf, sizeof buf, MSG_DONTWAIT); });
  balrog::run([&, &a = a] {
    const stopwatch sw;
    EXPECT_EQ(call([&] { return compat::recv(a, buf, sizeof buf, MSG_DONTWAIT); }), libc_dontwait);
    set_nonblocking(a, true);
    EXPECT_EQ(call([&] { return compat::recv(a, buf, sizeof buf, 0); }), (outcome{-1, EAGAIN}));
    EXPECT_EQ(call([&] { return compat::read(a, buf, sizeof buf); }), (outcome{-1, EAGAIN}));
    EXPECT_EQ(call([&] { return compat::recvfrom(a, buf, sizeof buf, 0, nullptr, nullptr); }),
              (outcome{-1, EAGAIN}));
    EXPECT_LT(sw.elapsed(), 500ms);
    set_nonblocking(a, false);
  });
  EXPECT_EQ(libc_dontwait, (outcome{-1, EAGAIN}));
  // A non-blocking sender gets a partial count, as from libc, instead of waiting for room.
  const std::size_t queued = fill_send_buffer(b);
  EXPECT_GT(queued, 0u);
  set_nonblocking(b, true);
  balrog::run([&, &b = b] {
    const std::vector<char> big = pattern(1 << 20);
    EXPECT_EQ(call([&] { return compat::send(b, big.data(), big.size(), 0); }),
              (outcome{-1, EAGAIN}));
  });
}

// A blocking write sends everything, however slowly the reader reads; the writer's thread
// keeps running the reader (a fiber of the same shard) meanwhile.
TEST(CompatTransfer, LargeWritesToASlowReaderSendEverything) {
  for (const bool tcp : {false, true}) {
    auto [a, b] = tcp ? tcp_pair() : unix_pair();
    const std::vector<char> data = pattern(4 << 20);
    balrog::run([&, &a = a, &b = b] {
      ticker t;
      auto reader = balrog::spawn([&] {
        std::vector<char> got;
        std::vector<char> buf(16384);
        int reads = 0;
        while (got.size() < data.size()) {
          const ssize_t r = compat::read(b, buf.data(), buf.size());
          if (r <= 0) break;
          got.insert(got.end(), buf.begin(), buf.begin() + r);
          if (++reads % 64 == 0) balrog::this_fiber::sleep_for(1ms);  // slow
        }
        return got;
      });
      EXPECT_EQ(compat::write(a, data.data(), data.size()), static_cast<ssize_t>(data.size()));
      EXPECT_TRUE(reader.join() == data);
      EXPECT_GT(t.stop(), 0);
    });
  }
}

TEST(CompatTransfer, SendmsgAndRecvmsgMoveWholeScatterGatherRequests) {
  auto [a, b] = tcp_pair();
  const std::vector<char> data = pattern(3 << 20);
  balrog::run([&, &a = a, &b = b] {
    auto reader = balrog::spawn([&] {
      std::vector<char> got(data.size());
      const std::size_t half = got.size() / 2;
      std::array<iovec, 2> iov{iovec{got.data(), half},
                               iovec{got.data() + half, got.size() - half}};
      msghdr m{};
      m.msg_iov = iov.data();
      m.msg_iovlen = iov.size();
      EXPECT_EQ(compat::recvmsg(b, &m, MSG_WAITALL), static_cast<ssize_t>(got.size()));
      return got;
    });
    const std::size_t third = data.size() / 3;
    std::array<iovec, 3> iov{iovec{const_cast<char*>(data.data()), third},
                             iovec{const_cast<char*>(data.data()) + third, third},
                             iovec{const_cast<char*>(data.data()) + 2 * third, third}};
    msghdr m{};
    m.msg_iov = iov.data();
    m.msg_iovlen = iov.size();
    EXPECT_EQ(compat::sendmsg(a, &m, 0), static_cast<ssize_t>(data.size()));
    EXPECT_TRUE(reader.join() == data);
  });
}

// MSG_PEEK|MSG_WAITALL waits until the whole request can be peeked, and consumes nothing.
TEST(CompatTransfer, PeekWaitallLikeLibc) {
  const auto scenario = [](auto recv_fn) {
    auto [a, b] = tcp_pair();
    later writer(5ms, [&b = b] {
      ASSERT_EQ(::write(b, "ab", 2), 2);
      std::this_thread::sleep_for(10ms);
      ASSERT_EQ(::write(b, "cd", 2), 2);
    });
    char peeked[4];
    char got[4];
    const outcome p = call([&, &a = a] { return recv_fn(a, peeked, 4, MSG_PEEK | MSG_WAITALL); });
    const outcome r = call([&, &a = a] { return recv_fn(a, got, 4, MSG_WAITALL); });
    return std::tuple(p, r, std::string(peeked, 4), std::string(got, 4));
  };
  const auto libc = scenario(::recv);
  EXPECT_EQ(libc,
            std::tuple(outcome{4, 0}, outcome{4, 0}, std::string("abcd"), std::string("abcd")));
  EXPECT_EQ(balrog::run([&] { return scenario(compat::recv); }), libc);
  EXPECT_EQ(scenario(compat::recv), libc);
}

// Ancillary data (here an fd, SCM_RIGHTS) travels with sendmsg/recvmsg as with libc's.
TEST(CompatTransfer, RecvmsgReceivesAncillaryData) {
  auto [a, b] = unix_pair();
  auto [pr, pw] = blocking_pipe();
  balrog::run([&, &a = a, &b = b, &pw = pw] {
    ticker t;
    auto sender = balrog::spawn([&] {
      balrog::this_fiber::sleep_for(20ms);
      char byte = 'f';
      iovec iov{&byte, 1};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
      msghdr m{};
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = control;
      m.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      const int fd = pw;
      std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
      EXPECT_EQ(compat::sendmsg(b, &m, 0), 1);
    });
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    EXPECT_EQ(compat::recvmsg(a, &m, MSG_WAITALL | MSG_CMSG_CLOEXEC), 1);
    EXPECT_EQ(byte, 'f');
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->cmsg_type, SCM_RIGHTS);
    int passed = -1;
    std::memcpy(&passed, CMSG_DATA(c), sizeof passed);
    unique_fd received(passed);
    EXPECT_EQ(compat::write(received, "!", 1), 1);  // the pipe's write end, passed over
    char out = 0;
    EXPECT_EQ(compat::read(pr, &out, 1), 1);
    EXPECT_EQ(out, '!');
    sender.join();
    EXPECT_GE(t.stop(), enough_ticks(20ms));
  });
}

TEST(CompatTransfer, RecvfromAndSendtoOnDatagramSockets) {
  unique_fd rx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  unique_fd tx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in rx_addr = loopback();
  ASSERT_EQ(::bind(rx, as_sockaddr(rx_addr), sizeof rx_addr), 0);
  socklen_t len = sizeof rx_addr;
  ASSERT_EQ(::getsockname(rx, reinterpret_cast<sockaddr*>(&rx_addr), &len), 0);
  sockaddr_in tx_addr = loopback();
  ASSERT_EQ(::bind(tx, as_sockaddr(tx_addr), sizeof tx_addr), 0);
  len = sizeof tx_addr;
  ASSERT_EQ(::getsockname(tx, reinterpret_cast<sockaddr*>(&tx_addr), &len), 0);
  balrog::run([&] {
    ticker t;
    later sender(20ms, [&] {
      ASSERT_EQ(::sendto(tx, "datagram", 8, 0, as_sockaddr(rx_addr), sizeof rx_addr), 8);
    });
    char buf[64];
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    // MSG_WAITALL means nothing for datagrams: one datagram, whatever its size.
    EXPECT_EQ(compat::recvfrom(rx, buf, sizeof buf, MSG_WAITALL, reinterpret_cast<sockaddr*>(&from),
                               &from_len),
              8);
    EXPECT_EQ(std::string(buf, 8), "datagram");
    EXPECT_EQ(from.sin_port, tx_addr.sin_port);
    EXPECT_GE(t.stop(), enough_ticks(20ms));
    EXPECT_EQ(compat::sendto(tx, "back", 4, 0, as_sockaddr(rx_addr), sizeof rx_addr), 4);
    EXPECT_EQ(compat::recv(rx, buf, sizeof buf, 0), 4);
  });
}

// A reset connection: -1/ECONNRESET for the reader, then -1/EPIPE for a writer (SIGPIPE is
// ignored here; see WritesToABrokenStreamRaiseSigpipeLikeLibc), exactly as from libc.
TEST(CompatTransfer, PeerResetGivesTheErrorsLibcGives) {
  const ignore_sigpipe no_sigpipe;
  const auto scenario = [](auto recv_fn, auto send_fn) {
    auto [a, b] = tcp_pair();
    later resetter(10ms, [&b = b] { close_with_reset(b); });
    char buf[16];
    const outcome r = call([&, &a = a] { return recv_fn(a, buf, sizeof buf, 0); });
    const outcome s = call([&, &a = a] { return send_fn(a, "x", 1, 0); });
    return std::pair(r, s);
  };
  const auto libc = scenario(::recv, ::send);
  EXPECT_EQ(libc.first, (outcome{-1, ECONNRESET}));
  EXPECT_EQ(libc.second, (outcome{-1, EPIPE}));
  EXPECT_EQ(balrog::run([&] { return scenario(compat::recv, compat::send); }), libc);
  EXPECT_EQ(scenario(compat::recv, compat::send), libc);  // sync mode
}

// write/send without MSG_NOSIGNAL on a broken stream raise SIGPIPE on the calling thread and
// fail with EPIPE, on a fiber as from libc; MSG_NOSIGNAL suppresses the signal.
TEST(CompatTransfer, WritesToABrokenStreamRaiseSigpipeLikeLibc) {
  static std::atomic<int> sigpipes{0};
  sigpipes = 0;
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = [](int) { sigpipes.fetch_add(1); };
  ::sigaction(SIGPIPE, &sa, &old);
  auto [a, b] = unix_pair();
  b.reset();
  EXPECT_EQ(call([&, &a = a] { return ::write(a, "x", 1); }), (outcome{-1, EPIPE}));
  EXPECT_EQ(sigpipes.load(), 1);
  balrog::run([&, &a = a] {
    EXPECT_EQ(call([&] { return compat::write(a, "x", 1); }), (outcome{-1, EPIPE}));
    EXPECT_EQ(sigpipes.load(), 2);
    EXPECT_EQ(call([&] { return compat::send(a, "x", 1, 0); }), (outcome{-1, EPIPE}));
    EXPECT_EQ(sigpipes.load(), 3);
    EXPECT_EQ(call([&] { return compat::send(a, "x", 1, MSG_NOSIGNAL); }), (outcome{-1, EPIPE}));
    EXPECT_EQ(sigpipes.load(), 3);
  });
  ::sigaction(SIGPIPE, &old, nullptr);
}

// A blocking write interrupted by an error after part of the data returns the count, as the
// kernel does; the error comes with the next call.
TEST(CompatTransfer, AnErrorAfterAPartialWriteReturnsTheCount) {
  const ignore_sigpipe no_sigpipe;
  auto [a, b] = tcp_pair();
  const std::vector<char> data = pattern(32 << 20);
  balrog::run([&, &a = a, &b = b] {
    auto reader = balrog::spawn([&] {
      std::vector<char> buf(65536);
      std::size_t got = 0;
      while (got < (1u << 20)) {
        const ssize_t r = compat::read(b, buf.data(), buf.size());
        ASSERT_GT(r, 0);
        got += static_cast<std::size_t>(r);
      }
      close_with_reset(b);
    });
    const ssize_t n = compat::write(a, data.data(), data.size());
    reader.join();
    EXPECT_GT(n, 0);
    EXPECT_LT(n, static_cast<ssize_t>(data.size()));
    const outcome next = call([&] { return compat::write(a, data.data(), data.size()); });
    EXPECT_EQ(next.result, -1);
    EXPECT_TRUE(next.error == ECONNRESET || next.error == EPIPE) << next;
  });
}

TEST(CompatTransfer, SoRcvtimeoIsHonouredLikeLibc) {
  const auto scenario = [](auto recv_fn) {
    auto [a, b] = unix_pair();
    set_timeout(a, SO_RCVTIMEO, 30ms);
    char buf[16];
    const stopwatch sw;
    const outcome nothing = call([&, &a = a] { return recv_fn(a, buf, sizeof buf, 0); });
    EXPECT_GE(sw.elapsed(), 25ms);
    // With part of a MSG_WAITALL request there, the timeout returns the part.
    EXPECT_EQ(::write(b, "abc", 3), 3);
    const outcome part = call([&, &a = a] { return recv_fn(a, buf, sizeof buf, MSG_WAITALL); });
    return std::pair(nothing, part);
  };
  const auto libc = scenario(::recv);
  EXPECT_EQ(libc.first, (outcome{-1, EAGAIN}));
  EXPECT_EQ(libc.second, (outcome{3, 0}));
  balrog::run([&] {
    ticker t;
    EXPECT_EQ(scenario(compat::recv), libc);
    EXPECT_GE(t.stop(), enough_ticks(30ms));
    // read() on a socket follows the same timeout.
    auto [a, b] = unix_pair();
    set_timeout(a, SO_RCVTIMEO, 20ms);
    char c;
    EXPECT_EQ(call([&, &a = a] { return compat::read(a, &c, 1); }), (outcome{-1, EAGAIN}));
  });
  EXPECT_EQ(scenario(compat::recv), libc);
}

TEST(CompatTransfer, SoSndtimeoIsHonouredLikeLibc) {
  const auto scenario = [](auto send_fn) {
    auto [a, b] = unix_pair();
    fill_send_buffer(a);
    set_timeout(a, SO_SNDTIMEO, 30ms);
    const stopwatch sw;
    const outcome o = call([&, &a = a] { return send_fn(a, "x", 1, 0); });
    EXPECT_GE(sw.elapsed(), 25ms);
    return o;
  };
  const outcome libc = scenario(::send);
  EXPECT_EQ(libc, (outcome{-1, EAGAIN}));
  EXPECT_EQ(balrog::run([&] { return scenario(compat::send); }), libc);
  EXPECT_EQ(scenario(compat::send), libc);
}

// Pipes are not sockets: the fiber waits for readiness, then reads or writes (in PIPE_BUF
// chunks, so a writable pipe never blocks the thread).
TEST(CompatTransfer, BlockingPipesOnFibers) {
  auto [r, w] = blocking_pipe();
  const std::vector<char> data = pattern(1 << 20);
  balrog::run([&, &r = r, &w = w] {
    ticker t;
    auto reader = balrog::spawn([&] { return read_all(r, data.size(), 3000); });
    balrog::this_fiber::sleep_for(5ms);  // the reader waits on an empty pipe meanwhile
    EXPECT_EQ(compat::write(w, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    EXPECT_TRUE(reader.join() == data);
    EXPECT_GT(t.stop(), 0);
    // End of file when the writer is gone.
    w.reset();
    char c;
    EXPECT_EQ(compat::read(r, &c, 1), 0);
  });
}

TEST(CompatTransfer, WriteToAPipeWithoutReaderFailsWithEpipe) {
  const ignore_sigpipe no_sigpipe;
  auto [r, w] = blocking_pipe();
  r.reset();
  EXPECT_EQ(call([&, &w = w] { return ::write(w, "x", 1); }), (outcome{-1, EPIPE}));
  balrog::run([&, &w = w] {
    EXPECT_EQ(call([&] { return compat::write(w, "x", 1); }), (outcome{-1, EPIPE}));
  });
}

TEST(CompatTransfer, RegularFilesGoStraightToLibc) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  const int fd = ::fileno(f);
  balrog::run([&] {
    EXPECT_EQ(compat::write(fd, "file data", 9), 9);
    ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
    char buf[32];
    EXPECT_EQ(compat::read(fd, buf, sizeof buf), 9);
    EXPECT_EQ(std::string(buf, 9), "file data");
    EXPECT_EQ(compat::read(fd, buf, sizeof buf), 0);
  });
  std::fclose(f);
}

TEST(CompatTransfer, BadFdsFailLikeLibc) {
  char buf[4];
  const auto scenario = [&](auto read_fn, auto recv_fn, auto write_fn) {
    return std::array{call([&] { return read_fn(-1, buf, sizeof buf); }),
                      call([&] { return recv_fn(987654, buf, sizeof buf, 0); }),
                      call([&] { return write_fn(987654, buf, sizeof buf); })};
  };
  const auto libc = scenario(::read, ::recv, ::write);
  EXPECT_EQ(libc[0], (outcome{-1, EBADF}));
  EXPECT_EQ(balrog::run([&] { return scenario(compat::read, compat::recv, compat::write); }), libc);
  // recv on a pipe: not a socket.
  auto [r, w] = blocking_pipe();
  const outcome libc_notsock = call([&, &r = r] { return ::recv(r, buf, sizeof buf, 0); });
  EXPECT_EQ(libc_notsock, (outcome{-1, ENOTSOCK}));
  balrog::run([&, &r = r] {
    EXPECT_EQ(call([&] { return compat::recv(r, buf, sizeof buf, 0); }), libc_notsock);
  });
}

// The extra system calls of the emulation leave no trace in errno when the call succeeds.
TEST(CompatTransfer, SuccessLeavesErrnoAlone) {
  auto [a, b] = unix_pair();
  balrog::run([&, &a = a, &b = b] {
    later writer(10ms, [&] { ASSERT_EQ(::write(b, "z", 1), 1); });
    errno = 12345;
    char c;
    EXPECT_EQ(compat::read(a, &c, 1), 1);
    EXPECT_EQ(errno, 12345);
  });
}

// Sync mode: on a plain thread every call is libc's own, blocking the thread.
TEST(CompatTransfer, SyncModeOnAPlainThreadBlocksLikeLibc) {
  auto [a, b] = unix_pair();
  std::thread plain([&, &a = a, &b = b] {
    const stopwatch sw;
    later writer(20ms, [&] { ASSERT_EQ(::write(b, "sync", 4), 4); });
    char buf[16];
    EXPECT_EQ(compat::read(a, buf, sizeof buf), 4);
    EXPECT_GE(sw.elapsed(), 15ms);
    EXPECT_EQ(compat::send(a, "pong", 4, 0), 4);
    EXPECT_EQ(compat::recv(b, buf, sizeof buf, 0), 4);
    EXPECT_EQ(std::string(buf, 4), "pong");
  });
  plain.join();
}
