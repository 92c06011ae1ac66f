// balrog::net on fibers (inside balrog::run) and in sync mode (plain threads, no runtime).
// Loopback and Unix sockets only. Every test checks that it leaves no fd behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/io.hpp"
#include "balrog/net.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "net/operations.hpp"
#include "support/open_fds.hpp"

using namespace std::chrono_literals;
namespace net = balrog::net;

namespace {

using steady = std::chrono::steady_clock;

using balrog::test::open_fds;

// Fails the test if it leaked fds (streams, listeners, reactors).
class Net : public ::testing::Test {
 protected:
  void SetUp() override { fds_before_ = open_fds(); }
  void TearDown() override { EXPECT_EQ(open_fds(), fds_before_) << "the test leaked fds"; }

 private:
  std::size_t fds_before_ = 0;
};

std::span<std::byte> bytes(std::string& s) { return std::as_writable_bytes(std::span<char>(s)); }

// A Unix socket path unique to this process and test.
std::string socket_path(std::string_view name) {
  std::string p = "/tmp/balrog-net-" + std::to_string(::getpid()) + "-" + std::string(name);
  ::unlink(p.c_str());
  return p;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A loopback port with nothing listening on it (bound, then released).
std::uint16_t closed_port() {
  auto l = net::listen(net::endpoint::loopback(0));
  return l.local_endpoint().port();
}

long long ms_since(steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
}

// Serves one connection: echoes until end of stream.
void echo(net::stream& s) {
  std::array<std::byte, 4096> buf{};
  while (const std::size_t n = s.read_some(buf)) s.write_all(std::span(buf).first(n));
}

// Client half of the echo tests: a few messages, each echoed back intact.
void talk_to_echo(net::stream& s) {
  for (std::string_view msg : {"hello", "a somewhat longer message", "x"}) {
    s.write_all(msg);
    EXPECT_EQ(s.read_exact(msg.size(), 2s), msg);
  }
  // Half-close: the server sees end of stream, finishes, and closes its end.
  s.shutdown(net::shutdown_how::write);
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(s.read_some(buf, 2s), 0u);
}

// The deterministic byte at offset i of the large transfers.
std::byte pattern(std::size_t i) { return static_cast<std::byte>((i * 131 + i / 4096) & 0xff); }

std::vector<std::byte> make_pattern(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = pattern(i);
  return v;
}

// Reads `total` bytes in small bites, pausing now and then, and checks them.
template <class Pause>
void read_slowly_and_check(net::stream& s, std::size_t total, Pause pause) {
  std::array<std::byte, 16 * 1024> buf{};
  std::size_t got = 0;
  int reads = 0;
  while (got < total) {
    const std::size_t n = s.read_some(buf, 5s);
    ASSERT_GT(n, 0u) << "early end of stream after " << got;
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] != pattern(got + i)) FAIL() << "wrong byte at offset " << got + i;
    }
    got += n;
    if (++reads % 16 == 0) pause();
  }
}

// Small socket buffers make a large transfer wait for room (want_write) many times.
void shrink_buffer(net::stream& s, int option) {
  const int bytes = 32 * 1024;
  ASSERT_EQ(::setsockopt(s.native_handle(), SOL_SOCKET, option, &bytes, sizeof bytes), 0);
}

// Writes until the kernel reports the broken connection (the peer closed).
std::error_code write_until_broken(net::stream& s) {
  const std::string chunk(64 * 1024, 'z');
  for (int i = 0; i < 1000; ++i) {
    try {
      s.write_all(chunk, 2s);
    } catch (const balrog::io_error& e) {
      return e.code();
    }
  }
  return {};
}

bool is_broken_pipe(std::error_code ec) {
  return ec == std::errc::broken_pipe || ec == std::errc::connection_reset;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// endpoint

TEST(Endpoint, ParsesIpv4) {
  const auto ep = net::endpoint::parse("127.0.0.1:8080");
  EXPECT_EQ(ep.family(), AF_INET);
  EXPECT_EQ(ep.port(), 8080);
  EXPECT_EQ(ep.address(), "127.0.0.1");
  EXPECT_EQ(ep.to_string(), "127.0.0.1:8080");
  EXPECT_TRUE(ep.is_ip());
  EXPECT_TRUE(ep.is_loopback());
  EXPECT_EQ(ep.size(), sizeof(sockaddr_in));
  EXPECT_EQ(ep, net::endpoint::ipv4({127, 0, 0, 1}, 8080));
  EXPECT_EQ(ep, net::endpoint::loopback(8080));
  EXPECT_FALSE(ep == net::endpoint::loopback(8081));
  EXPECT_FALSE(net::endpoint::parse("10.1.2.3:0").is_loopback());
  EXPECT_EQ(net::endpoint::parse("0.0.0.0:0").port(), 0);
  EXPECT_EQ(net::endpoint::parse("1.2.3.4:65535").port(), 65535);
}

TEST(Endpoint, ParsesIpv6) {
  const auto ep = net::endpoint::parse("[::1]:8080");
  EXPECT_EQ(ep.family(), AF_INET6);
  EXPECT_EQ(ep.port(), 8080);
  EXPECT_EQ(ep.address(), "::1");
  EXPECT_EQ(ep.to_string(), "[::1]:8080");
  EXPECT_TRUE(ep.is_loopback());
  EXPECT_EQ(net::endpoint::parse("[::]:0").to_string(), "[::]:0");
  EXPECT_TRUE(net::endpoint::parse("[::ffff:127.0.0.2]:1").is_loopback());
  // A scope by number prints back as a number, and so round-trips.
  const auto scoped = net::endpoint::parse("[fe80::1%1]:80");
  EXPECT_EQ(scoped.to_string(), "[fe80::1%1]:80");
  EXPECT_EQ(net::endpoint::parse(scoped.to_string()), scoped);
  EXPECT_FALSE(scoped == net::endpoint::parse("[fe80::1]:80"));
  std::array<std::uint8_t, 16> one{};
  one[15] = 1;
  EXPECT_EQ(net::endpoint::ipv6(one, 8080), ep);
}

TEST(Endpoint, ParsesUnixPathsAndAbstractNames) {
  const auto path = net::endpoint::parse("unix:/tmp/app.sock");
  EXPECT_EQ(path.family(), AF_UNIX);
  EXPECT_TRUE(path.is_unix());
  EXPECT_FALSE(path.is_loopback());
  EXPECT_EQ(path.port(), 0);
  EXPECT_EQ(path.address(), "/tmp/app.sock");
  EXPECT_EQ(path.to_string(), "unix:/tmp/app.sock");
  EXPECT_EQ(path, net::endpoint::unix_path("/tmp/app.sock"));
  EXPECT_EQ(net::endpoint::parse("unix:relative.sock").address(), "relative.sock");

  const auto abstract = net::endpoint::parse("unix:@balrog");
  EXPECT_EQ(abstract.address(), "@balrog");
  EXPECT_EQ(abstract.to_string(), "unix:@balrog");
  // The kernel's form: a NUL byte, then the name, no terminator.
  EXPECT_EQ(abstract.size(), offsetof(sockaddr_un, sun_path) + 1 + 6);
  EXPECT_EQ(abstract.data()->sa_data[0], '\0');
  EXPECT_FALSE(abstract == net::endpoint::unix_path("/balrog"));

  // The longest path that fits, and through from_sockaddr (what accept/getsockname return).
  const std::string longest(net::endpoint::max_unix_path, 'p');
  const auto big = net::endpoint::unix_path(longest);
  EXPECT_EQ(net::endpoint::from_sockaddr(big.data(), big.size()), big);
  EXPECT_EQ(net::endpoint::from_sockaddr(abstract.data(), abstract.size()), abstract);
}

TEST(Endpoint, EmptyAndPrinting) {
  const net::endpoint none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.family(), AF_UNSPEC);
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.to_string(), "(none)");
  EXPECT_EQ(none, net::endpoint{});
  std::ostringstream os;
  os << net::endpoint::parse("[::1]:1") << " " << net::endpoint::unix_path("@x");
  EXPECT_EQ(os.str(), "[::1]:1 unix:@x");
}

TEST(Endpoint, RejectsBadInputWithAClearMessage) {
  const std::string too_long = "unix:/" + std::string(200, 'x');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty address"},
      {"127.0.0.1", "missing port"},
      {"127.0.0.1:", "missing port"},
      {"127.0.0.1:65536", "bad port"},
      {"127.0.0.1:-1", "bad port"},
      {"127.0.0.1:80x", "bad port"},
      {"127.0.0.1:+80", "bad port"},
      {"127.0.0.1:000080", "bad port"},
      {"256.0.0.1:80", "not a numeric IPv4 address"},
      {"localhost:80", "not a numeric IPv4 address"},
      {"::1:80", "needs brackets"},
      {"[::1]", "missing port"},
      {"[::1]80", "expected ':'"},
      {"[::1:80", "missing ']'"},
      {"[127.0.0.1]:80", "not a numeric IPv6 address"},
      {"[fe80::1%no-such-interface0]:80", "unknown network interface"},
      {"unix:", "empty Unix socket path"},
      {"unix:@", "empty Unix socket path"},
      {too_long, "path too long"},
  };
  for (const auto& [text, why] : cases) {
    try {
      (void)net::endpoint::parse(text);
      ADD_FAILURE() << "parse(\"" << text << "\") did not throw";
    } catch (const balrog::usage_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(why), std::string::npos) << what;
      EXPECT_NE(what.find("\"" + text + "\""), std::string::npos) << what;
    }
  }
  EXPECT_THROW((void)net::endpoint::unix_path(std::string(net::endpoint::max_unix_path + 1, 'p')),
               balrog::usage_error);
  EXPECT_THROW((void)net::endpoint::unix_path(""), balrog::usage_error);
  EXPECT_THROW((void)net::endpoint::unix_path(std::string("a\0b", 3)), balrog::usage_error);
}

// ---------------------------------------------------------------------------------------------
// echo round trips

TEST_F(Net, EchoOverTcpOnFibers) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    const net::endpoint where = l.local_endpoint();
    EXPECT_TRUE(where.is_loopback());
    EXPECT_NE(where.port(), 0);
    auto server = balrog::spawn(
        [&] {
          net::stream s = l.accept(2s);
          s.set_nodelay(true);
          echo(s);
          return s.remote_endpoint();
        },
        {.name = "server"});
    net::stream c = net::connect(where, 2s);
    EXPECT_TRUE(c.is_open());
    EXPECT_GE(c.native_handle(), 0);
    EXPECT_EQ(c.remote_endpoint(), where);
    talk_to_echo(c);
    EXPECT_EQ(server.join(), c.local_endpoint());
  });
}

TEST_F(Net, EchoOverUnixSocketsOnFibers) {
  const std::string path = socket_path("echo-fiber");
  for (const auto& where :
       {net::endpoint::unix_path(path),
        net::endpoint::unix_path("@balrog-net-" + std::to_string(::getpid()))}) {
    balrog::run([&] {
      auto l = net::listen(where);
      EXPECT_EQ(l.local_endpoint(), where);
      auto server = balrog::spawn([&] {
        net::stream s = l.accept(2s);
        s.set_nodelay(true);  // a no-op on Unix sockets
        echo(s);
      });
      net::stream c = net::connect(where, 2s);
      EXPECT_EQ(c.remote_endpoint(), where);
      EXPECT_EQ(c.local_endpoint().to_string(), "unix:");  // unnamed client end
      talk_to_echo(c);
      server.join();
    });
  }
  EXPECT_FALSE(exists(path)) << "the listener removes its socket file when it closes";
}

TEST_F(Net, EchoOverTcpInSyncMode) {
  auto l = net::listen(net::endpoint::loopback(0));
  std::thread server([&] {
    net::stream s = l.accept(2s);
    echo(s);
  });
  net::stream c = net::connect(l.local_endpoint(), 2s);
  talk_to_echo(c);
  server.join();
}

TEST_F(Net, EchoOverUnixSocketsInSyncMode) {
  const std::string path = socket_path("echo-sync");
  {
    auto l = net::listen(net::endpoint::unix_path(path));
    EXPECT_TRUE(exists(path));
    std::thread server([&] {
      net::stream s = l.accept(2s);
      echo(s);
    });
    net::stream c = net::connect(net::endpoint::parse("unix:" + path), 2s);
    talk_to_echo(c);
    server.join();
  }
  EXPECT_FALSE(exists(path));
}

// ---------------------------------------------------------------------------------------------
// partial reads and writes

TEST_F(Net, ReadExactAcrossManySmallWritesOnFibers) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto writer = balrog::spawn([&] {
      net::stream s = l.accept(2s);
      s.set_nodelay(true);
      for (int i = 0; i < 500; ++i) {
        s.write_all(std::string(7, static_cast<char>('a' + i % 26)));
        balrog::this_fiber::yield();  // lets the reader see each piece on its own
      }
    });
    net::stream c = net::connect(l.local_endpoint(), 2s);
    std::string got(3500, '\0');
    c.read_exact(bytes(got), 5s);
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], static_cast<char>('a' + (i / 7) % 26)) << i;
    }
    writer.join();
  });
}

// TCP streams from connect() and accept() count what a read leaves queued (TCP_INQ): a
// read_exact that empties the receive queue says so (drained), and its driver then forgets the
// read readiness, so the next read_exact waits for the next event instead of first making a
// recv that finds EAGAIN (a request/response client made two recvs a request without this).
// Unix sockets have no such count: there a full read_exact cannot know, and the next one tries.
TEST_F(Net, ReadExactKnowsWhenItEmptiedATcpReceiveQueue) {
  namespace nd = balrog::net::detail;
  auto l = net::listen(net::endpoint::loopback(0));
  net::stream c = net::connect(l.local_endpoint(), 2s);
  net::stream s = l.accept(2s);
  for (const net::stream* each : {&c, &s}) {
    int on = 0;
    socklen_t length = sizeof on;
    ASSERT_EQ(::getsockopt(each->native_handle(), IPPROTO_TCP, TCP_INQ, &on, &length), 0);
    EXPECT_EQ(on, 1) << "connect() and accept() turn TCP_INQ on";
  }
  for (const bool client_reads : {true, false}) {
    net::stream& reader = client_reads ? c : s;
    net::stream& writer = client_reads ? s : c;
    writer.write_all(std::string(100, 'q'));
    std::array<std::byte, 60> first{};
    nd::read_exact_op part{.buffer = first, .count_queued = true};
    // Loopback delivers while the writer's send runs, but a step may still see a part.
    while (part.step(reader.native_handle()) != nd::progress::done) {
      reader.wait_readable(2s);
    }
    EXPECT_EQ(part.left, 40) << "client reads: " << client_reads;
    EXPECT_FALSE(part.drained());
    std::array<std::byte, 40> rest{};
    nd::read_exact_op last{.buffer = rest, .count_queued = true};
    ASSERT_EQ(last.step(reader.native_handle()), nd::progress::done);
    EXPECT_EQ(last.left, 0);
    EXPECT_TRUE(last.drained()) << "client reads: " << client_reads;
  }
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  net::stream a(sv[0]);
  net::stream b(sv[1]);
  b.write_all(std::string(10, 'u'));
  std::array<std::byte, 10> all{};
  nd::read_exact_op op{.buffer = all};  // as stream::read_exact makes it for an adopted fd
  ASSERT_EQ(op.step(a.native_handle()), nd::progress::done);
  EXPECT_EQ(op.left, -1);
  EXPECT_FALSE(op.drained());
}

TEST_F(Net, ReadExactAcrossManySmallWritesInSyncMode) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  net::stream reader(sv[0]);
  net::stream writer(sv[1]);
  std::thread t([&] {
    for (int i = 0; i < 200; ++i) {
      writer.write_all(std::string(3, static_cast<char>('A' + i % 26)));
      if (i % 20 == 0) std::this_thread::sleep_for(1ms);
    }
  });
  const std::string got = reader.read_exact(600, 5s);
  t.join();
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], static_cast<char>('A' + (i / 3) % 26)) << i;
  }
}

TEST_F(Net, WriteAllOfALargeBufferToASlowReaderOnFibers) {
  constexpr std::size_t total = 8 << 20;
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    const std::vector<std::byte> data = make_pattern(total);
    auto writer = balrog::spawn([&] {
      net::stream s = l.accept(2s);
      shrink_buffer(s, SO_SNDBUF);
      s.write_all(data, 10s);  // far more than the socket buffers: waits for room many times
    });
    net::stream c = net::connect(l.local_endpoint(), 2s);
    shrink_buffer(c, SO_RCVBUF);
    read_slowly_and_check(c, total, [] { balrog::this_fiber::sleep_for(1ms); });
    writer.join();
  });
}

TEST_F(Net, WriteAllOfALargeBufferToASlowReaderInSyncMode) {
  constexpr std::size_t total = 4 << 20;
  const std::string path = socket_path("slow-reader");
  auto l = net::listen(net::endpoint::unix_path(path));
  const std::vector<std::byte> data = make_pattern(total);
  std::thread writer([&] {
    net::stream s = l.accept(2s);
    s.write_all(data, 10s);
  });
  net::stream c = net::connect(l.local_endpoint(), 2s);
  read_slowly_and_check(c, total, [] { std::this_thread::sleep_for(1ms); });
  writer.join();
}

TEST_F(Net, WriteSomeWritesWhatFits) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  net::stream a(sv[0]);
  net::stream b(sv[1]);
  EXPECT_EQ(a.write_some("hello"), 5u);
  EXPECT_EQ(a.write_some(std::string_view()), 0u);  // empty: 0 at once
  std::array<std::byte, 3> small{};
  EXPECT_EQ(b.read_some(small), 3u);  // at most the buffer's size
  EXPECT_EQ(b.read_exact(2), "lo");
  EXPECT_EQ(b.read_some(std::span<std::byte>()), 0u);  // empty buffer: 0 at once, no wait
  // A huge write_some returns after a partial write instead of waiting for room.
  const std::string huge(16 << 20, 'h');
  const std::size_t n = a.write_some(huge, 1s);
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, huge.size());
}

// ---------------------------------------------------------------------------------------------
// the peer goes away

TEST_F(Net, PeerClosingEarlyOnFibers) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto server = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        net::stream s = l.accept(2s);
        s.write_all("abc");
      }  // each connection closes at once
    });
    {
      net::stream c = net::connect(l.local_endpoint(), 2s);
      std::array<std::byte, 10> buf{};
      try {
        c.read_exact(buf, 2s);
        ADD_FAILURE() << "read_exact did not throw";
      } catch (const balrog::end_of_stream& e) {
        EXPECT_NE(std::string(e.what()).find("after 3 of 10 bytes"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("read_exact(fd "), std::string::npos) << e.what();
      }
    }
    {
      net::stream c = net::connect(l.local_endpoint(), 2s);
      EXPECT_EQ(c.read_exact(3, 2s), "abc");
      std::array<std::byte, 10> buf{};
      EXPECT_EQ(c.read_some(buf, 2s), 0u);  // orderly end of stream
      EXPECT_EQ(c.read_some(buf, 2s), 0u);  // and it stays ended
    }
    {
      net::stream c = net::connect(l.local_endpoint(), 2s);
      EXPECT_EQ(c.read_exact(3, 2s), "abc");
      // No SIGPIPE (it would kill this process): an io_error instead.
      const std::error_code ec = write_until_broken(c);
      EXPECT_TRUE(is_broken_pipe(ec)) << ec.message();
    }
    server.join();
  });
}

// The last bytes and the end of stream arrive together (one edge-triggered event): a read
// that takes the bytes short of its buffer drains them, yet the end is still there to read.
// The reactor keeps a hung-up direction ready, so the next read returns 0 at once instead of
// waiting for an event that never comes (it did until the deadline before).
TEST_F(Net, BytesAndTheEndOfStreamInOneEventAreBothReadOnFibers) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto server = balrog::spawn([&] {
      net::stream s = l.accept(2s);
      balrog::this_fiber::sleep_for(30ms);  // the reader is registered and waiting by now
      s.write_all("last words");
      s.shutdown(net::shutdown_how::write);
      std::array<std::byte, 16> buf{};
      EXPECT_EQ(s.read_some(buf, 2s), 0u);  // the client closes after it saw the end
    });
    net::stream c = net::connect(l.local_endpoint(), 2s);
    std::array<std::byte, 64> buf{};
    EXPECT_EQ(c.read_some(buf, 2s), 10u);  // waits: the edge registration is made here
    const auto t0 = steady::now();
    EXPECT_EQ(c.read_some(buf, 2s), 0u);
    EXPECT_EQ(c.read_some(buf, 2s), 0u);  // and it stays ended
    EXPECT_LT(ms_since(t0), 1000);
    // A plain wait on the stream's fd (through the same registration) sees the end too.
    balrog::wait_readable(c.native_handle(), 2s);
    c.close();
    server.join();
  });
}

// wait_readable waits through the stream's registration and reads nothing: the bytes it saw
// are the next read's; at the end of stream it returns too; a close() on another fiber wakes it.
TEST_F(Net, WaitReadableSeesBytesAndTheEndWithoutReadingOnFibers) {
  balrog::run([] {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    net::stream a(sv[0]);
    net::stream b(sv[1]);
    EXPECT_THROW(b.wait_readable(20ms), balrog::timeout_error);
    auto writer = balrog::spawn([&] {
      balrog::this_fiber::sleep_for(20ms);
      a.write_all("ping");
    });
    b.wait_readable(2s);
    writer.join();
    b.wait_readable(2s);  // still there: nothing was read
    EXPECT_EQ(b.read_exact(4, 2s), "ping");
    EXPECT_THROW(b.wait_readable(20ms), balrog::timeout_error);  // drained: waits again
    a.shutdown(net::shutdown_how::write);
    b.wait_readable(2s);
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(b.read_some(buf, 2s), 0u);
    auto waiter = balrog::spawn([&] {
      try {
        a.wait_readable(5s);
        ADD_FAILURE() << "wait_readable returned on a closed stream";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor) << e.what();
      }
    });
    balrog::this_fiber::sleep_for(20ms);
    a.close();
    waiter.join();
  });
}

TEST_F(Net, WaitReadableInSyncMode) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  net::stream a(sv[0]);
  net::stream b(sv[1]);
  EXPECT_THROW(b.wait_readable(20ms), balrog::timeout_error);
  std::thread writer([&] {
    std::this_thread::sleep_for(20ms);
    a.write_all("ping");
  });
  b.wait_readable(2s);
  writer.join();
  EXPECT_EQ(b.read_exact(4, 2s), "ping");
}

TEST_F(Net, PeerClosingEarlyInSyncMode) {
  auto l = net::listen(net::endpoint::loopback(0));
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {
      net::stream s = l.accept(2s);
      s.write_all("xy");
    }
  });
  {
    net::stream c = net::connect(l.local_endpoint(), 2s);
    std::array<std::byte, 5> buf{};
    EXPECT_THROW(c.read_exact(buf, 2s), balrog::end_of_stream);
  }
  {
    net::stream c = net::connect(l.local_endpoint(), 2s);
    EXPECT_EQ(c.read_exact(2, 2s), "xy");
    const std::error_code ec = write_until_broken(c);
    EXPECT_TRUE(is_broken_pipe(ec)) << ec.message();
  }
  server.join();
}

// ---------------------------------------------------------------------------------------------
// deadlines

TEST_F(Net, APeerThatNeverAnswersTimesOutOnFibers) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    net::stream c = net::connect(l.local_endpoint(), 2s);
    net::stream s = l.accept(2s);  // accepted, and never written to
    std::array<std::byte, 8> buf{};

    auto t0 = steady::now();
    try {
      (void)c.read_some(buf, 50ms);
      ADD_FAILURE() << "read_some did not time out";
    } catch (const balrog::timeout_error& e) {
      EXPECT_NE(std::string(e.what()).find("balrog::net::stream::read_some(fd "), std::string::npos)
          << e.what();
    }
    EXPECT_GE(ms_since(t0), 45);
    EXPECT_LT(ms_since(t0), 1000);

    t0 = steady::now();
    {
      balrog::deadline_scope scope(50ms);
      EXPECT_THROW(c.read_exact(buf), balrog::timeout_error);
    }
    EXPECT_GE(ms_since(t0), 45);
    EXPECT_LT(ms_since(t0), 1000);

    EXPECT_THROW(l.accept(20ms), balrog::timeout_error);

    // A past deadline fails at the first wait, but what can complete at once succeeds.
    s.write_all("!");
    balrog::wait_readable(c.native_handle(), 1s);  // delivered
    EXPECT_EQ(c.read_some(buf, -1ms), 1u);
    EXPECT_THROW((void)c.read_some(buf, -1ms), balrog::timeout_error);
    EXPECT_EQ(c.write_some("?", -1ms), 1u);
  });
}

TEST_F(Net, APeerThatNeverAnswersTimesOutInSyncMode) {
  auto l = net::listen(net::endpoint::loopback(0));
  net::stream c = net::connect(l.local_endpoint(), 2s);
  net::stream s = l.accept(2s);
  std::array<std::byte, 8> buf{};
  auto t0 = steady::now();
  EXPECT_THROW((void)c.read_some(buf, 50ms), balrog::timeout_error);
  EXPECT_GE(ms_since(t0), 45);
  t0 = steady::now();
  {
    balrog::deadline_scope scope(50ms);
    EXPECT_THROW(c.read_exact(buf, 10s), balrog::timeout_error);
  }
  EXPECT_GE(ms_since(t0), 45);
  EXPECT_LT(ms_since(t0), 1000);
}

// Linux drops a SYN when the listener's accept queue is full, so connect() to a listener that
// never accepts hangs once its backlog has filled up: a loopback-only way to make connect wait.
TEST_F(Net, ConnectTimesOutWhenTheBacklogIsFull) {
  const auto check = [] {
    auto l = net::listen(net::endpoint::loopback(0), {.backlog = 1});
    std::vector<net::stream> queued;  // held open so the queue stays full
    for (int i = 0;; ++i) {
      ASSERT_LT(i, 16) << "the accept queue never filled up";
      const auto t0 = steady::now();
      try {
        queued.push_back(net::connect(l.local_endpoint(), 100ms));
      } catch (const balrog::timeout_error& e) {
        EXPECT_GE(ms_since(t0), 95);
        EXPECT_NE(std::string(e.what()).find("balrog::net::connect(fd "), std::string::npos);
        EXPECT_NE(std::string(e.what()).find(l.local_endpoint().to_string()), std::string::npos);
        break;
      }
    }
    EXPECT_FALSE(queued.empty());
  };
  balrog::run(check);
  check();  // sync mode
}

TEST_F(Net, ConnectToAUnixListenerWithAFullBacklogFailsAtOnce) {
  const std::string path = socket_path("full");
  auto l = net::listen(net::endpoint::unix_path(path), {.backlog = 0});
  std::vector<net::stream> queued;
  for (int i = 0;; ++i) {
    ASSERT_LT(i, 16) << "the accept queue never filled up";
    try {
      queued.push_back(net::connect(l.local_endpoint(), 1s));
    } catch (const balrog::io_error& e) {
      EXPECT_EQ(e.code(), std::errc::resource_unavailable_try_again) << e.what();
      EXPECT_NE(std::string(e.what()).find("backlog is full"), std::string::npos) << e.what();
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// connect failures

TEST_F(Net, ConnectRefused) {
  const auto nowhere = net::endpoint::loopback(closed_port());
  const auto check = [&] {
    try {
      (void)net::connect(nowhere, 2s);
      ADD_FAILURE() << "connect did not throw";
    } catch (const balrog::io_error& e) {
      EXPECT_EQ(e.code(), std::errc::connection_refused) << e.what();
      EXPECT_NE(std::string(e.what()).find(nowhere.to_string()), std::string::npos) << e.what();
    }
  };
  balrog::run(check);
  check();  // sync mode
  const std::string path = socket_path("missing");
  try {
    (void)net::connect(net::endpoint::unix_path(path));
    ADD_FAILURE() << "connect did not throw";
  } catch (const balrog::io_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory) << e.what();
  }
  EXPECT_THROW((void)net::connect(net::endpoint{}), balrog::usage_error);
}

// ---------------------------------------------------------------------------------------------
// cancellation and close while waiting

TEST_F(Net, CancellingAFiberBlockedInReadSome) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    net::stream c = net::connect(l.local_endpoint(), 2s);
    net::stream s = l.accept(2s);
    auto reader = balrog::spawn(
        [&] {
          std::array<std::byte, 8> buf{};
          (void)c.read_some(buf);  // no deadline: only cancellation ends it
        },
        {.name = "reader"});
    balrog::this_fiber::sleep_for(10ms);
    EXPECT_FALSE(reader.done());
    reader.cancel();
    EXPECT_THROW(reader.join(), balrog::cancelled);
    // The stream is still usable by others.
    s.write_all("ok");
    EXPECT_EQ(c.read_exact(2, 2s), "ok");
  });
}

TEST_F(Net, ClosingAStreamWakesTheFibersWaitingOnIt) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    net::stream c = net::connect(l.local_endpoint(), 2s);
    net::stream s = l.accept(2s);  // never reads, never writes
    const int old_fd = c.native_handle();
    auto reader = balrog::spawn(
        [&] {
          std::array<std::byte, 8> buf{};
          return c.read_some(buf, 5s);
        },
        {.name = "reader"});
    auto writer = balrog::spawn(
        [&] {
          // Fills the socket buffers, then parks in write_all.
          const std::string chunk(1 << 20, 'w');
          for (;;) c.write_all(chunk, 5s);
        },
        {.name = "writer"});
    balrog::this_fiber::sleep_for(20ms);
    ASSERT_FALSE(reader.done());
    ASSERT_FALSE(writer.done());
    const auto t0 = steady::now();
    c.close();
    // The freed number comes straight back, to a socket with data ready: the woken fibers
    // must notice that their stream is closed instead of using it.
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    net::stream x(sv[0]);
    net::stream y(sv[1]);
    EXPECT_TRUE(x.native_handle() == old_fd || y.native_handle() == old_fd);
    x.write_all("stolen");
    y.write_all("stolen");
    const auto expect_closed = [](auto& f) {
      try {
        (void)f.join();
        ADD_FAILURE() << "no exception";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        EXPECT_NE(std::string(e.what()).find("stream is closed"), std::string::npos) << e.what();
      }
    };
    expect_closed(reader);
    expect_closed(writer);
    EXPECT_LT(ms_since(t0), 1000) << "woken by close, not by the deadline";
    EXPECT_EQ(x.read_exact(6, 1s), "stolen");
    EXPECT_EQ(y.read_exact(6, 1s), "stolen");
  });
}

TEST_F(Net, ClosingAStreamWakesAThreadBlockedOnIt) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  net::stream a(sv[0]);
  net::stream b(sv[1]);
  std::atomic<bool> threw_ebadf{false};
  std::thread reader([&] {
    std::array<std::byte, 8> buf{};
    try {
      (void)a.read_some(buf, 5s);
    } catch (const balrog::io_error& e) {
      threw_ebadf = e.code() == std::errc::bad_file_descriptor;
    }
  });
  std::this_thread::sleep_for(20ms);  // the reader is blocked in poll(2)
  const auto t0 = steady::now();
  a.close();
  reader.join();
  EXPECT_TRUE(threw_ebadf);
  EXPECT_LT(ms_since(t0), 1000) << "woken by close, not by the deadline";
}

// Sync mode's classic shape: one thread reads a socket while another writes it.
TEST_F(Net, AReaderThreadAndAWriterThreadShareAStream) {
  constexpr std::size_t total = 2 << 20;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  net::stream shared(sv[0]);
  net::stream peer(sv[1]);
  std::thread echoer([&] { echo(peer); });
  const std::vector<std::byte> data = make_pattern(total);
  std::thread writer([&] {
    for (std::size_t at = 0; at < total; at += 4096) {
      shared.write_all(std::span(data).subspan(at, 4096), 5s);
    }
  });
  std::thread reader([&] { read_slowly_and_check(shared, total, [] {}); });
  writer.join();
  reader.join();
  shared.shutdown(net::shutdown_how::write);
  echoer.join();
}

TEST_F(Net, ClosingAListenerWakesItsAcceptors) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    std::vector<balrog::fiber<void>> acceptors;
    for (int i = 0; i < 3; ++i) {
      acceptors.push_back(balrog::spawn([&] { (void)l.accept(5s); }));
    }
    balrog::this_fiber::sleep_for(10ms);
    l.close();
    for (auto& f : acceptors) {
      try {
        f.join();
        ADD_FAILURE() << "accept did not throw";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        EXPECT_NE(std::string(e.what()).find("listener is closed"), std::string::npos) << e.what();
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// many fibers

TEST_F(Net, ManyFibersAcceptOnOneListener) {
  static constexpr int n = 8;
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    std::vector<balrog::fiber<char>> acceptors;
    for (int i = 0; i < n; ++i) {
      acceptors.push_back(balrog::spawn([&] {
        net::stream s = l.accept(5s);
        const std::string id = s.read_exact(1, 5s);
        s.write_all(id);
        return id[0];
      }));
    }
    balrog::this_fiber::sleep_for(5ms);  // all of them parked in accept()
    std::vector<net::stream> clients;
    for (int i = 0; i < n; ++i) {
      clients.push_back(net::connect(l.local_endpoint(), 2s));
      clients.back().write_all(std::string(1, static_cast<char>('a' + i)));
    }
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(clients[static_cast<std::size_t>(i)].read_exact(1, 5s)[0], 'a' + i);
    }
    std::string seen;
    for (auto& f : acceptors) seen += f.join();
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, "abcdefgh");  // each acceptor got exactly one connection
  });
}

TEST_F(Net, AThousandClientsAgainstAFiberPerConnectionServer) {
  static constexpr int clients = 1000;
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur < 2 * clients + 64) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 2 * clients + 64);
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < 2 * clients + 64) GTEST_SKIP() << "needs " << 2 * clients + 64 << " fds";

  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0), {.backlog = 1024});
    const net::endpoint where = l.local_endpoint();
    auto server = balrog::spawn(
        [&] {
          std::vector<balrog::fiber<void>> handlers;
          handlers.reserve(clients);
          for (int i = 0; i < clients; ++i) {
            handlers.push_back(balrog::spawn([s = l.accept(10s)]() mutable { echo(s); },
                                             {.stack = balrog::stack_kind::dense}));
          }
          for (auto& h : handlers) h.join();
        },
        {.name = "server"});
    int ok = 0;  // one thread: no atomics needed
    std::vector<balrog::fiber<void>> fibers;
    fibers.reserve(clients);
    for (int i = 0; i < clients; ++i) {
      fibers.push_back(balrog::spawn(
          [&, i] {
            // In waves of 100, to stay under a small net.core.somaxconn (128 on older
            // kernels): an overflow costs a client a 1 s SYN retransmit.
            balrog::this_fiber::sleep_for(std::chrono::milliseconds(i / 100));
            net::stream c = net::connect(where, 10s);
            const std::string msg = "client " + std::to_string(i);
            c.write_all(msg, 10s);
            if (c.read_exact(msg.size(), 10s) == msg) ++ok;
          },
          {.stack = balrog::stack_kind::dense}));
    }
    for (auto& f : fibers) f.join();
    server.join();
    EXPECT_EQ(ok, clients);
  });
}

// ---------------------------------------------------------------------------------------------
// name resolution

TEST_F(Net, ResolveNumericHostsWithoutALookup) {
  EXPECT_EQ(net::resolve("127.0.0.1", 80), std::vector{net::endpoint::loopback(80)});
  EXPECT_EQ(net::resolve("::1", 80), std::vector{net::endpoint::parse("[::1]:80")});
  EXPECT_EQ(net::resolve("[::1]", 80), std::vector{net::endpoint::parse("[::1]:80")});
  EXPECT_THROW((void)net::resolve("", 80), balrog::usage_error);
}

TEST(NetResolve, LocalhostIsALoopbackAddress) {
  const auto check = [] {
    const std::vector<net::endpoint> found = net::resolve("localhost", 8080);
    ASSERT_FALSE(found.empty());
    for (const auto& ep : found) {
      EXPECT_TRUE(ep.is_loopback()) << ep;
      EXPECT_EQ(ep.port(), 8080) << ep;
    }
  };
  balrog::run(check);  // through offload, on a fiber
  check();             // sync mode
}

TEST(NetResolve, AnInvalidNameThrowsWithTheName) {
  const auto check = [] {
    try {
      (void)net::resolve("no-such-host.invalid", 80);  // .invalid never resolves (RFC 6761)
      ADD_FAILURE() << "resolve did not throw";
    } catch (const net::resolve_error& e) {
      EXPECT_NE(std::string(e.what()).find("\"no-such-host.invalid\""), std::string::npos)
          << e.what();
      EXPECT_EQ(e.host(), "no-such-host.invalid");
      EXPECT_NE(e.gai_code(), 0);
    }
  };
  balrog::run(check);
  check();
}

TEST(NetResolve, ConnectByNameTriesEachAddress) {
  balrog::run([] {
    // Listening on 127.0.0.1 only: if "localhost" also yields ::1, that address is refused and
    // connect moves on to the next.
    auto l = net::listen(net::endpoint::loopback(0));
    auto server = balrog::spawn([&] {
      net::stream s = l.accept(5s);
      echo(s);
    });
    net::stream c = net::connect("localhost", l.local_endpoint().port(), 5s);
    talk_to_echo(c);
    server.join();

    const std::uint16_t port = closed_port();
    try {
      (void)net::connect("localhost", port, 2s);
      ADD_FAILURE() << "connect did not throw";
    } catch (const balrog::io_error& e) {
      EXPECT_NE(std::string(e.what()).find("localhost:" + std::to_string(port)), std::string::npos)
          << e.what();
    }
    EXPECT_THROW((void)net::connect("no-such-host.invalid", 80, 2s), net::resolve_error);
  });
}

// ---------------------------------------------------------------------------------------------
// closed streams, adoption, listen options

TEST_F(Net, OperationsOnAClosedStreamThrowEbadf) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  net::stream a(sv[0]);
  net::stream b(sv[1]);
  a.close();
  a.close();  // idempotent
  net::stream moved_to = std::move(b);
  net::stream never_opened;
  const int released_fd = moved_to.release();
  ASSERT_GE(released_fd, 0);
  ::close(released_fd);
  std::array<std::byte, 4> buf{};
  for (net::stream* s : {&a, &b, &moved_to, &never_opened}) {
    EXPECT_FALSE(s->is_open());
    EXPECT_EQ(s->native_handle(), -1);
    EXPECT_EQ(s->release(), -1);
    const auto expect_closed = [](auto&& op) {
      try {
        op();
        ADD_FAILURE() << "no exception";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        EXPECT_NE(std::string(e.what()).find("stream is closed"), std::string::npos) << e.what();
      }
    };
    expect_closed([&] { (void)s->read_some(buf); });
    expect_closed([&] { s->read_exact(buf); });
    expect_closed([&] { (void)s->write_some("x"); });
    expect_closed([&] { s->write_all("x"); });
    expect_closed([&] { s->shutdown(net::shutdown_how::both); });
    expect_closed([&] { s->set_nodelay(true); });
    expect_closed([&] { (void)s->local_endpoint(); });
    expect_closed([&] { (void)s->remote_endpoint(); });
  }
  net::listener closed;
  EXPECT_THROW((void)closed.accept(), balrog::io_error);
  EXPECT_THROW((void)closed.local_endpoint(), balrog::io_error);
  closed.close();
}

TEST_F(Net, AdoptingFds) {
  const auto expect_errno = [](int fd, std::errc code) {
    try {
      net::stream s(fd);
      ADD_FAILURE() << "stream(" << fd << ") did not throw";
    } catch (const balrog::io_error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  };
  expect_errno(-1, std::errc::bad_file_descriptor);
  expect_errno(-42, std::errc::bad_file_descriptor);
  expect_errno(987654, std::errc::bad_file_descriptor);

  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  expect_errno(p[0], std::errc::not_a_socket);
  EXPECT_EQ(::fcntl(p[0], F_GETFD), FD_CLOEXEC) << "a failed adoption leaves the fd open";
  ::close(p[0]);
  ::close(p[1]);

  const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(udp, 0);
  EXPECT_THROW(net::stream s(udp), balrog::usage_error);
  ::close(udp);

  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);  // blocking
  net::stream a(sv[0]);
  net::stream b(sv[1]);
  EXPECT_NE(::fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0) << "adoption makes the fd non-blocking";
  balrog::run([&] {
    auto reader = balrog::spawn([&] { return b.read_exact(4, 2s); });
    balrog::this_fiber::sleep_for(5ms);  // the reader waits; a blocking fd would stall the shard
    a.write_all("ping");
    EXPECT_EQ(reader.join(), "ping");
  });
}

TEST_F(Net, StaleUnixSocketFilesAreReplacedLiveOnesAreNot) {
  const std::string path = socket_path("stale");
  const auto where = net::endpoint::unix_path(path);
  {
    // A server that died without removing its file.
    auto l = net::listen(where, {.unlink_on_close = false});
    l.close();
  }
  ASSERT_TRUE(exists(path));
  {
    auto l = net::listen(where);  // replaces the stale file
    try {
      (void)net::listen(where);  // but not a live listener's
      ADD_FAILURE() << "listen did not throw";
    } catch (const balrog::io_error& e) {
      EXPECT_EQ(e.code(), std::errc::address_in_use) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    // The probe connection reached the live listener; it is harmless.
    net::stream probe = l.accept(1s);
    std::array<std::byte, 1> buf{};
    EXPECT_EQ(probe.read_some(buf, 1s), 0u);
  }
  EXPECT_FALSE(exists(path));

  // Never delete a file that is not a socket.
  const int f = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(f, 0);
  ::close(f);
  EXPECT_THROW((void)net::listen(where), balrog::io_error);
  EXPECT_TRUE(exists(path));
  ::unlink(path.c_str());

  EXPECT_THROW((void)net::listen(where, {.backlog = -1}), balrog::usage_error);
  EXPECT_THROW((void)net::listen(net::endpoint{}), balrog::usage_error);
}

TEST_F(Net, ReusePortLetsTwoListenersShareAPort) {
  auto a = net::listen(net::endpoint::loopback(0), {.reuse_port = true});
  auto b = net::listen(a.local_endpoint(), {.reuse_port = true});
  EXPECT_EQ(a.local_endpoint(), b.local_endpoint());
  try {
    (void)net::listen(a.local_endpoint());
    ADD_FAILURE() << "listen did not throw";
  } catch (const balrog::io_error& e) {
    EXPECT_EQ(e.code(), std::errc::address_in_use) << e.what();
  }
  net::listener moved = std::move(a);
  EXPECT_FALSE(a.is_open());
  EXPECT_TRUE(moved.is_open());
}
