// The compat layer's C face (balrog/compat/c/*.h), called from C (c_face/c_calls.c, compiled
// as C11): the same results and errno as libc off a fiber; on a fiber the waits suspend only
// the fiber (a ticker fiber keeps ticking); balrog_run_main runs a C main on a fiber.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "balrog/compat/c/posix_net.h"
#include "c_face/c_calls.h"
#include "compat_test_support.hpp"

using namespace compat_test;

namespace {

std::string recv_text(int fd) {
  char buf[64];
  const long n = c_recv(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

TEST(CompatCFace, SyncModeIsLibc) {
  auto [a, b] = unix_pair();
  char buf[16] = {};
  EXPECT_EQ(c_on_fiber(), 0);
  EXPECT_EQ(c_send_recv(a, b, "ping", buf, sizeof buf, 1000), 4);
  EXPECT_STREQ(buf, "ping");
  EXPECT_EQ(c_select_readable(b, 0), 0);
  EXPECT_EQ(c_write(b, "pong"), 4);
  EXPECT_EQ(c_select_readable(a, 1000), 1);
  EXPECT_EQ(recv_text(a), "pong");
  EXPECT_EQ(c_nanosleep_ms(1), 0);
  EXPECT_EQ(c_usleep_ms(1), 0);
  EXPECT_EQ(c_sleep_zero(), 0u);
  EXPECT_EQ(c_resolve_port("127.0.0.1", "5432"), 5432);
  EXPECT_LT(c_resolve_port("not a host", "1"), 0);
}

TEST(CompatCFace, ErrnoConventions) {
  const auto scenario = [] {
    std::vector<outcome> out;
    char buf[4];
    out.push_back(call([&] { return c_recv(-1, buf, sizeof buf); }));
    out.push_back(call([&] { return c_read(-1, buf, sizeof buf); }));
    out.push_back(call([] { return c_close(-1); }));
    out.push_back(call([] { return c_get_flags(-1); }));
    out.push_back(call([] { return c_dup2(-1, 100); }));
    return out;
  };
  const std::vector<outcome> want(5, outcome{-1, EBADF});
  EXPECT_EQ(scenario(), want);
  EXPECT_EQ(balrog::run([&] { return scenario(); }), want);
  // A refused connection: the errno of a blocking connect, on a fiber and off.
  const sockaddr_in closed = closed_port();
  const int port = ntohs(closed.sin_port);
  const auto refused = [port] {
    unique_fd s = tcp_socket();
    return call([&] { return c_connect_loopback(s, port); });
  };
  EXPECT_EQ(refused(), (outcome{-1, ECONNREFUSED}));
  EXPECT_EQ(balrog::run([&] { return refused(); }), (outcome{-1, ECONNREFUSED}));
}

TEST(CompatCFace, WaitsSuspendOnlyTheFiber) {
  balrog::run([] {
    EXPECT_EQ(c_on_fiber(), 1);
    {
      ticker t;
      EXPECT_EQ(c_nanosleep_ms(30), 0);
      EXPECT_GE(t.stop(), enough_ticks(30ms));
    }
    {
      ticker t;
      EXPECT_EQ(c_usleep_ms(30), 0);
      EXPECT_GE(t.stop(), enough_ticks(30ms));
    }
    // recv and select wait for a fiber of the same thread: had they blocked the thread, the
    // sender could never run.
    auto [a, b] = unix_pair();
    auto sender = balrog::spawn([fd = a.get()] {
      balrog::this_fiber::sleep_for(20ms);
      EXPECT_EQ(c_write(fd, "late"), 4);
    });
    EXPECT_EQ(c_select_readable(b, 5000), 1);
    EXPECT_EQ(recv_text(b), "late");
    sender.join();
    auto sender2 = balrog::spawn([fd = a.get()] {
      balrog::this_fiber::sleep_for(20ms);
      EXPECT_EQ(c_write(fd, "later"), 5);
    });
    EXPECT_EQ(recv_text(b), "later");
    sender2.join();
    // fcntl through the C face (variadic argument passed on).
    const int flags = c_get_flags(b);
    ASSERT_GE(flags, 0);
    EXPECT_EQ(c_set_flags(b, flags | O_NONBLOCK), 0);
    EXPECT_EQ(c_get_flags(b) & O_NONBLOCK, O_NONBLOCK);
    char buf[4];
    EXPECT_EQ(call([&] { return c_recv(b, buf, sizeof buf); }), (outcome{-1, EAGAIN}));
  });
}

TEST(CompatCFace, DnsOnAFiber) {
  balrog::run([] { EXPECT_EQ(c_resolve_port("127.0.0.1", "8080"), 8080); });
}

TEST(CompatCFace, RunMainRunsACMainOnAFiber) {
  // argc 3, on a fiber (10), the sleep succeeded (100).
  EXPECT_EQ(c_run_main(1), 113);
  EXPECT_EQ(c_run_main(2), 113);
  EXPECT_EQ(c_on_fiber(), 0);
}

TEST(CompatCFace, OffloadedCallsAreLibcs) {
  // Off a fiber and on one: libc's results (a wait status, popen's line, pclose's status).
  const auto scenario = [] {
    EXPECT_EQ(c_system("exit 3"), 3 << 8);
    char line[32] = {};
    const int status = c_popen_line("echo hi", line, sizeof line);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_STREQ(line, "hi\n");
    EXPECT_EQ(call([] { return c_fsync(-1); }), (outcome{-1, EBADF}));
    EXPECT_EQ(c_sem_waits(2, 2), 0);
  };
  scenario();
  balrog::run(scenario);
}

TEST(CompatCFace, OffloadedCallsSuspendOnlyTheFiber) {
  balrog::run([] {
    ticker t;
    EXPECT_EQ(c_system("sleep 0.05"), 0);
    EXPECT_GE(t.stop(), enough_ticks(50ms));
  });
}

TEST(CompatCFace, OpenSslBiosAreBalrogs) {
  auto [a, b] = unix_pair();
  EXPECT_EQ(c_socket_bio_type(a), BIO_TYPE_SOCKET);
  EXPECT_EQ(c_fd_bio_type(), BIO_TYPE_FD);
  EXPECT_EQ(c_ssl_set_fd_get_fd(a), a.get());
  // Off a fiber: OpenSSL's fd BIO behaviour.
  EXPECT_EQ(c_bio_write_fd(a, "off"), 3);
  char buf[8] = {};
  EXPECT_EQ(c_bio_read_fd(b, buf, sizeof buf), 3);
  EXPECT_STREQ(buf, "off");
  // On a fiber, a read on the empty socket waits for a fiber of the same thread: had it
  // blocked the thread, the writer could never run.
  balrog::run([fd_a = a.get(), fd_b = b.get()] {
    auto writer = balrog::spawn([fd_a] {
      balrog::this_fiber::sleep_for(20ms);
      EXPECT_EQ(c_bio_write_fd(fd_a, "late"), 4);
    });
    char got[8] = {};
    EXPECT_EQ(c_bio_read_fd(fd_b, got, sizeof got), 4);
    EXPECT_STREQ(got, "late");
    writer.join();
  });
}

TEST(CompatCFace, TheHeadersAreUsableFromCxx) {
  // The C headers declare the same functions for C++ callers (extern "C").
  auto [a, b] = unix_pair();
  EXPECT_EQ(balrog_send(a, "x", 1, 0), 1);
  char c = 0;
  EXPECT_EQ(balrog_recv(b, &c, 1, 0), 1);
  EXPECT_EQ(c, 'x');
}
