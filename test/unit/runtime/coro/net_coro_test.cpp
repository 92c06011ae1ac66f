// The coroutine forms of balrog::net (co_await s.async_read_some(...) and friends): coroutine
// servers and clients, mixed with fibers, plain threads and balrog::await. Loopback and
// socketpairs only. Every test checks that it leaves no fd behind.
//
// Coroutine bodies here keep co_await out of gtest macros and build class-type arguments in
// statements of their own (see the GCC 12 caveat in balrog/task.hpp).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/net.hpp"
#include "balrog/run.hpp"
#include "balrog/sleep.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "support/open_fds.hpp"

using namespace std::chrono_literals;
namespace net = balrog::net;
using balrog::task;

namespace {

using steady = std::chrono::steady_clock;

using balrog::test::open_fds;

class NetCoro : public ::testing::Test {
 protected:
  void SetUp() override {
    // This thread's sync-mode scheduler (an epoll fd and an eventfd, kept until the thread
    // exits, docs/architecture.md): made before counting, as in the Tls fixture.
    balrog::block_on(std::suspend_never{});
    fds_before_ = open_fds();
  }
  void TearDown() override { EXPECT_EQ(open_fds(), fds_before_) << "the test leaked fds"; }

 private:
  std::size_t fds_before_ = 0;
};

long long ms_since(steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
}

// A loopback port with nothing listening on it (bound, then released).
std::uint16_t closed_port() {
  auto l = net::listen(net::endpoint::loopback(0));
  return l.local_endpoint().port();
}

// A connected pair of Unix stream sockets.
struct socket_pair {
  net::stream a;
  net::stream b;
};
socket_pair stream_pair() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  return {net::stream(sv[0]), net::stream(sv[1])};
}

std::byte pattern(std::size_t i) { return static_cast<std::byte>((i * 131 + i / 4096) & 0xff); }

std::vector<std::byte> make_pattern(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = pattern(i);
  return v;
}

void shrink_buffer(net::stream& s, int option) {
  const int bytes = 32 * 1024;
  ASSERT_EQ(::setsockopt(s.native_handle(), SOL_SOCKET, option, &bytes, sizeof bytes), 0);
}

constexpr std::array<std::string_view, 3> messages = {"hello", "a somewhat longer message", "x"};

// --- coroutine halves ------------------------------------------------------------------------

// Serves one connection: echoes until end of stream, then closes its end. (Explicitly: a
// coroutine's parameters live as long as its frame, which a task_handle keeps until joined.)
task<void> echo(net::stream s) {
  std::array<std::byte, 4096> buf{};
  while (const std::size_t n = co_await s.async_read_some(buf, 10s)) {
    co_await s.async_write_all(std::span(buf).first(n), 10s);
  }
  s.close();
}

// Accepts `connections` connections, each served by a task of its own, and waits for them.
task<void> echo_server(net::listener& l, int connections) {
  std::vector<balrog::task_handle<void>> handlers;
  handlers.reserve(static_cast<std::size_t>(connections));
  for (int i = 0; i < connections; ++i) {
    net::stream s = co_await l.async_accept(10s);
    handlers.push_back(balrog::spawn_task(echo(std::move(s))));
  }
  for (auto& h : handlers) co_await h;
}

// Client half: a few messages, each echoed back intact, then a half-close.
task<void> talk_to_echo(net::stream& s) {
  for (std::string_view msg : messages) {
    co_await s.async_write_all(msg, 2s);
    const std::string back = co_await s.async_read_exact(msg.size(), 2s);
    EXPECT_EQ(back, msg);
  }
  s.shutdown(net::shutdown_how::write);
  std::array<std::byte, 16> buf{};
  const std::size_t n = co_await s.async_read_some(buf, 2s);
  EXPECT_EQ(n, 0u);
}

task<void> echo_client(net::endpoint where) {
  net::stream s = co_await net::async_connect(where, 2s);
  co_await talk_to_echo(s);
}

// --- fiber halves ----------------------------------------------------------------------------

void echo_blocking(net::stream& s) {
  std::array<std::byte, 4096> buf{};
  while (const std::size_t n = s.read_some(buf, 10s)) s.write_all(std::span(buf).first(n), 10s);
}

void talk_to_echo_blocking(net::stream& s) {
  for (std::string_view msg : messages) {
    s.write_all(msg, 2s);
    EXPECT_EQ(s.read_exact(msg.size(), 2s), msg);
  }
  s.shutdown(net::shutdown_how::write);
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(s.read_some(buf, 2s), 0u);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// echo: coroutines against fibers

TEST_F(NetCoro, CoroutineServerFiberClients) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto server = balrog::spawn_task(echo_server(l, 4), {.name = "server"});
    std::vector<balrog::fiber<void>> clients;
    for (int i = 0; i < 4; ++i) {
      clients.push_back(balrog::spawn([&] {
        net::stream c = net::connect(l.local_endpoint(), 2s);
        talk_to_echo_blocking(c);
      }));
    }
    for (auto& c : clients) c.join();
    server.join();
  });
}

TEST_F(NetCoro, FiberServerCoroutineClients) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto server = balrog::spawn([&] {
      std::vector<balrog::fiber<void>> handlers;
      for (int i = 0; i < 4; ++i) {
        handlers.push_back(balrog::spawn([s = l.accept(5s)]() mutable { echo_blocking(s); }));
      }
      for (auto& h : handlers) h.join();
    });
    std::vector<balrog::task_handle<void>> clients;
    for (int i = 0; i < 4; ++i)
      clients.push_back(balrog::spawn_task(echo_client(l.local_endpoint())));
    for (auto& c : clients) c.join();
    server.join();
  });
}

TEST_F(NetCoro, OverUnixSocketsAndByHostName) {
  balrog::run([] {
    const std::string path = "@balrog-net-coro-" + std::to_string(::getpid());
    auto unix_listener = net::listen(net::endpoint::unix_path(path));
    auto tcp_listener = net::listen(net::endpoint::loopback(0));
    auto unix_server = balrog::spawn_task(echo_server(unix_listener, 1));
    auto tcp_server = balrog::spawn_task(echo_server(tcp_listener, 2));
    auto client = [](net::endpoint u, std::uint16_t port) -> task<void> {
      co_await echo_client(u);
      // A name goes through the resolver (off the shard), a numeric host straight through.
      net::stream by_name = co_await net::async_connect("localhost", port, 2s);
      co_await talk_to_echo(by_name);
      net::stream numeric = co_await net::async_connect("127.0.0.1", port, 2s);
      co_await talk_to_echo(numeric);
    };
    balrog::spawn_task(client(unix_listener.local_endpoint(), tcp_listener.local_endpoint().port()))
        .join();
    unix_server.join();
    tcp_server.join();
  });
}

// ---------------------------------------------------------------------------------------------
// transfers

TEST_F(NetCoro, ReadExactAcrossManySmallWrites) {
  static constexpr std::size_t total = 3000;
  balrog::run([] {
    auto [a, b] = stream_pair();
    auto writer = balrog::spawn([&a = a] {
      for (std::size_t i = 0; i < total; i += 3) {
        const char c = static_cast<char>('A' + (i / 3) % 26);
        a.write_all(std::string(3, c), 2s);
        if (i % 300 == 0) balrog::this_fiber::yield();
      }
    });
    auto reader = [](net::stream& s) -> task<std::string> {
      std::string got(total, '\0');
      co_await s.async_read_exact(std::as_writable_bytes(std::span<char>(got)), 5s);
      co_return got;
    };
    const std::string got = balrog::spawn_task(reader(b)).join();
    writer.join();
    ASSERT_EQ(got.size(), total);
    for (std::size_t i = 0; i < total; ++i) {
      ASSERT_EQ(got[i], static_cast<char>('A' + (i / 3) % 26)) << i;
    }
  });
}

TEST_F(NetCoro, WriteAllOfSeveralMegabytesToASlowReader) {
  static constexpr std::size_t total = 8 << 20;
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    const std::vector<std::byte> data = make_pattern(total);
    auto writer = [](net::listener& from, const std::vector<std::byte>& bytes) -> task<void> {
      net::stream s = co_await from.async_accept(2s);
      shrink_buffer(s, SO_SNDBUF);
      co_await s.async_write_all(bytes, 10s);  // waits for room many times
    };
    auto w = balrog::spawn_task(writer(l, data));
    auto slow_reader = [](net::endpoint where) -> task<void> {
      net::stream c = co_await net::async_connect(where, 2s);
      shrink_buffer(c, SO_RCVBUF);
      std::array<std::byte, 16 * 1024> buf{};
      std::size_t got = 0;
      int reads = 0;
      while (got < total) {
        const std::size_t n = co_await c.async_read_some(buf, 5s);
        if (n == 0) {
          ADD_FAILURE() << "early end of stream after " << got;
          co_return;
        }
        for (std::size_t i = 0; i < n; ++i) {
          if (buf[i] != pattern(got + i)) {
            ADD_FAILURE() << "wrong byte at offset " << got + i;
            co_return;
          }
        }
        got += n;
        if (++reads % 16 == 0) co_await balrog::sleep_for(1ms);
      }
    };
    balrog::spawn_task(slow_reader(l.local_endpoint())).join();
    w.join();
  });
}

TEST_F(NetCoro, WriteSomeAndEmptyBuffers) {
  balrog::run([] {
    auto [a, b] = stream_pair();
    auto coro = [](net::stream& x, net::stream& y) -> task<void> {
      std::size_t n = co_await x.async_write_some("hello");
      EXPECT_EQ(n, 5u);
      n = co_await x.async_write_some(std::string_view());
      EXPECT_EQ(n, 0u);  // empty: 0 at once
      std::array<std::byte, 3> small{};
      n = co_await y.async_read_some(small);
      EXPECT_EQ(n, 3u);  // at most the buffer's size
      const std::string rest = co_await y.async_read_exact(2);
      EXPECT_EQ(rest, "lo");
      n = co_await y.async_read_some(std::span<std::byte>());
      EXPECT_EQ(n, 0u);  // empty buffer: 0 at once, no wait
      // Temporaries in the co_await statement live until it completes (a long string, so
      // that its bytes are on the heap, and a short one, in the string object itself).
      co_await x.async_write_all(std::string(40, 't'), 1s);
      co_await x.async_write_all(std::string("short"), 1s);
      const std::string temps = co_await y.async_read_exact(45, 1s);
      EXPECT_EQ(temps, std::string(40, 't') + "short");
      const std::string huge(16 << 20, 'h');
      n = co_await x.async_write_some(huge, 1s);  // a partial write, no wait for room
      EXPECT_GT(n, 0u);
      EXPECT_LT(n, huge.size());
    };
    balrog::spawn_task(coro(a, b)).join();
  });
}

// ---------------------------------------------------------------------------------------------
// the peer goes away

TEST_F(NetCoro, PeerClosingEarly) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto server = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        net::stream s = l.accept(2s);
        s.write_all("abc");
      }  // each connection closes at once
    });
    auto client = [](net::endpoint where) -> task<void> {
      {
        net::stream c = co_await net::async_connect(where, 2s);
        std::array<std::byte, 10> buf{};
        try {
          co_await c.async_read_exact(buf, 2s);
          ADD_FAILURE() << "async_read_exact did not throw";
        } catch (const balrog::end_of_stream& e) {
          const std::string what = e.what();
          EXPECT_NE(what.find("after 3 of 10 bytes"), std::string::npos) << what;
          EXPECT_NE(what.find("balrog::net::stream::read_exact(fd "), std::string::npos) << what;
        }
      }
      {
        net::stream c = co_await net::async_connect(where, 2s);
        const std::string abc = co_await c.async_read_exact(3, 2s);
        EXPECT_EQ(abc, "abc");
        std::array<std::byte, 10> buf{};
        std::size_t n = co_await c.async_read_some(buf, 2s);
        EXPECT_EQ(n, 0u);  // orderly end of stream
        n = co_await c.async_read_some(buf, 2s);
        EXPECT_EQ(n, 0u);  // and it stays ended
      }
      {
        net::stream c = co_await net::async_connect(where, 2s);
        (void)co_await c.async_read_exact(3, 2s);
        // No SIGPIPE (it would kill this process): an io_error instead.
        const std::string chunk(64 * 1024, 'z');
        std::error_code ec;
        for (int i = 0; i < 1000 && !ec; ++i) {
          try {
            co_await c.async_write_all(chunk, 2s);
          } catch (const balrog::io_error& e) {
            ec = e.code();
          }
        }
        EXPECT_TRUE(ec == std::errc::broken_pipe || ec == std::errc::connection_reset)
            << ec.message();
      }
    };
    balrog::spawn_task(client(l.local_endpoint())).join();
    server.join();
  });
}

// ---------------------------------------------------------------------------------------------
// deadlines

TEST_F(NetCoro, OwnDeadlineAndDeadlineScope) {
  balrog::run([] {
    auto [a, b] = stream_pair();
    auto coro = [](net::stream& quiet, net::stream& peer) -> task<void> {
      std::array<std::byte, 8> buf{};
      auto t0 = steady::now();
      try {
        (void)co_await quiet.async_read_some(buf, 30ms);
        ADD_FAILURE() << "no timeout";
      } catch (const balrog::timeout_error& e) {
        const std::string what = e.what();
        const std::string expected = "balrog::net::stream::read_some(fd " +
                                     std::to_string(quiet.native_handle()) + "): deadline exceeded";
        EXPECT_EQ(what, expected);
      }
      EXPECT_GE(ms_since(t0), 30);
      // A deadline_scope opened in the coroutine bounds its waits: the plain timeout_error.
      t0 = steady::now();
      try {
        balrog::deadline_scope scope(20ms);
        const std::string never = co_await quiet.async_read_exact(4, 5s);
        ADD_FAILURE() << "no timeout, read " << never;
      } catch (const balrog::timeout_error& e) {
        EXPECT_STREQ(e.what(), "balrog: deadline exceeded");
      }
      EXPECT_GE(ms_since(t0), 20);
      EXPECT_LT(ms_since(t0), 1000);
      // The earlier of the two wins: here the call's own.
      try {
        balrog::deadline_scope scope(5s);
        (void)co_await quiet.async_read_some(buf, 10ms);
        ADD_FAILURE() << "no timeout";
      } catch (const balrog::timeout_error& e) {
        EXPECT_NE(std::string(e.what()).find("read_some(fd"), std::string::npos) << e.what();
      }
      // A past deadline still succeeds when no wait is needed.
      peer.write_all("ready");
      const std::string ready = co_await quiet.async_read_exact(5, -1s);
      EXPECT_EQ(ready, "ready");
      const std::size_t n = co_await quiet.async_write_some("x", -1s);
      EXPECT_EQ(n, 1u);
    };
    balrog::spawn_task(coro(a, b)).join();
    // A deadline_scope around balrog::await (a fiber) bounds the coroutine's waits too.
    balrog::deadline_scope scope(10ms);
    std::array<std::byte, 8> buf{};
    EXPECT_THROW((void)balrog::await(a.async_read_some(buf)), balrog::timeout_error);
  });
}

// ---------------------------------------------------------------------------------------------
// cancellation and close while waiting

TEST_F(NetCoro, CancellingATaskBlockedInReadSome) {
  balrog::run([] {
    auto [a, b] = stream_pair();
    auto reader = [](net::stream& s) -> task<std::size_t> {
      std::array<std::byte, 8> buf{};
      co_return co_await s.async_read_some(buf);  // no deadline: only cancellation ends it
    };
    auto h = balrog::spawn_task(reader(a), {.name = "reader"});
    balrog::this_fiber::sleep_for(10ms);
    EXPECT_FALSE(h.done());
    h.cancel();
    EXPECT_THROW(h.join(), balrog::cancelled);
    // The stream is still usable.
    b.write_all("ok");
    EXPECT_EQ(balrog::spawn_task(a.async_read_exact(2, 2s)).join(), "ok");
  });
}

TEST_F(NetCoro, ClosingAStreamFromAFiberWakesTheTasksWaitingOnIt) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    net::stream c = net::connect(l.local_endpoint(), 2s);
    net::stream s = l.accept(2s);  // never reads, never writes
    const int old_fd = c.native_handle();
    auto read_one = [](net::stream& x) -> task<std::size_t> {
      std::array<std::byte, 8> buf{};
      co_return co_await x.async_read_some(buf, 5s);
    };
    auto write_forever = [](net::stream& x) -> task<void> {
      const std::string chunk(1 << 20, 'w');  // fills the socket buffers, then waits
      for (;;) co_await x.async_write_all(chunk, 5s);
    };
    auto reader = balrog::spawn_task(read_one(c), {.name = "reader"});
    auto writer = balrog::spawn_task(write_forever(c), {.name = "writer"});
    balrog::this_fiber::sleep_for(20ms);
    ASSERT_FALSE(reader.done());
    ASSERT_FALSE(writer.done());
    const auto t0 = steady::now();
    c.close();
    // The freed number comes straight back, to a socket with data ready: the woken tasks must
    // notice that their stream is closed instead of using it.
    auto [x, y] = stream_pair();
    EXPECT_TRUE(x.native_handle() == old_fd || y.native_handle() == old_fd);
    x.write_all("stolen");
    y.write_all("stolen");
    const auto expect_closed = [](auto& h) {
      try {
        (void)h.join();
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

// close() on another thread wakes both kinds of waiter on one stream: a task (claimed with
// try_wake) and a plain thread blocked in poll(2) (woken by shutdown).
TEST_F(NetCoro, ClosingAStreamFromAnotherThreadWakesATaskAndAPollingThread) {
  auto [a, b] = stream_pair();
  std::atomic<bool> thread_saw_ebadf{false};
  const auto t0 = steady::now();
  std::atomic<long long> thread_woken_ms{-1};
  long long task_woken_ms = -1;
  std::thread polling([&a = a, &thread_saw_ebadf, &thread_woken_ms, t0] {
    std::array<std::byte, 8> buf{};
    try {
      (void)a.read_some(buf, 5s);
    } catch (const balrog::io_error& e) {
      thread_saw_ebadf = e.code() == std::errc::bad_file_descriptor;
    }
    thread_woken_ms = ms_since(t0);
  });
  std::thread closer;
  balrog::run([&a = a, &closer, &task_woken_ms, t0] {
    auto read_one = [](net::stream& x) -> task<std::size_t> {
      std::array<std::byte, 8> buf{};
      co_return co_await x.async_read_some(buf, 5s);
    };
    auto h = balrog::spawn_task(read_one(a));
    closer = std::thread([&a] {
      std::this_thread::sleep_for(30ms);  // both are waiting by then
      a.close();
    });
    try {
      (void)h.join();
      ADD_FAILURE() << "no exception";
    } catch (const balrog::io_error& e) {
      EXPECT_NE(std::string(e.what()).find("stream is closed"), std::string::npos) << e.what();
    }
    task_woken_ms = ms_since(t0);
  });
  polling.join();
  closer.join();
  EXPECT_TRUE(thread_saw_ebadf);
  EXPECT_LT(task_woken_ms, 1000) << "the task was woken by its deadline, not by close";
  EXPECT_LT(thread_woken_ms.load(), 1000) << "the thread was woken by its deadline, not by close";
}

TEST_F(NetCoro, ClosingAListenerWakesItsCoroutineAcceptors) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto accept_one = [](net::listener& from) -> task<void> {
      net::stream s = co_await from.async_accept(5s);
    };
    std::vector<balrog::task_handle<void>> acceptors;
    for (int i = 0; i < 3; ++i) acceptors.push_back(balrog::spawn_task(accept_one(l)));
    balrog::this_fiber::sleep_for(10ms);
    const auto t0 = steady::now();
    l.close();
    for (auto& h : acceptors) {
      try {
        h.join();
        ADD_FAILURE() << "async_accept did not throw";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        EXPECT_NE(std::string(e.what()).find("listener is closed"), std::string::npos) << e.what();
      }
    }
    EXPECT_LT(ms_since(t0), 1000);
  });
}

TEST_F(NetCoro, OperationsOnAClosedStreamThrowEbadf) {
  balrog::run([] {
    net::stream closed;
    net::listener closed_listener;
    auto coro = [](net::stream& s, net::listener& l) -> task<void> {
      std::array<std::byte, 4> buf{};
      int failures = 0;
      try {
        (void)co_await s.async_read_some(buf);
      } catch (const balrog::io_error& e) {
        EXPECT_NE(std::string(e.what()).find("read_some: stream is closed"), std::string::npos);
        ++failures;
      }
      try {
        co_await s.async_write_all("x");
      } catch (const balrog::io_error& e) {
        EXPECT_NE(std::string(e.what()).find("write_all: stream is closed"), std::string::npos);
        ++failures;
      }
      try {
        (void)co_await l.async_accept();
      } catch (const balrog::io_error& e) {
        EXPECT_NE(std::string(e.what()).find("listener is closed"), std::string::npos);
        ++failures;
      }
      EXPECT_EQ(failures, 3);
    };
    balrog::spawn_task(coro(closed, closed_listener)).join();
  });
}

// ---------------------------------------------------------------------------------------------
// connect and resolve

TEST_F(NetCoro, ConnectRefused) {
  balrog::run([] {
    const std::uint16_t port = closed_port();
    auto coro = [](std::uint16_t p) -> task<void> {
      const auto nowhere = net::endpoint::loopback(p);
      try {
        (void)co_await net::async_connect(nowhere, 2s);
        ADD_FAILURE() << "async_connect did not throw";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::connection_refused) << e.what();
        EXPECT_NE(std::string(e.what()).find(nowhere.to_string()), std::string::npos) << e.what();
      }
      try {
        (void)co_await net::async_connect("127.0.0.1", p, 2s);
        ADD_FAILURE() << "async_connect did not throw";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::connection_refused) << e.what();
        const std::string host_port = "balrog::net::connect(127.0.0.1:" + std::to_string(p) + ")";
        EXPECT_NE(std::string(e.what()).find(host_port), std::string::npos) << e.what();
      }
      try {  // a temporary endpoint
        (void)co_await net::async_connect(net::endpoint::loopback(p), 2s);
        ADD_FAILURE() << "async_connect did not throw";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::connection_refused) << e.what();
      }
      const net::endpoint empty;
      try {
        (void)co_await net::async_connect(empty);
        ADD_FAILURE() << "async_connect did not throw";
      } catch (const balrog::usage_error&) {
      }
    };
    balrog::spawn_task(coro(port)).join();
  });
}

TEST_F(NetCoro, ATaskOwnsItsEndpointAndHost) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    const std::uint16_t port = l.local_endpoint().port();
    auto server = balrog::spawn_task(echo_server(l, 2));
    // Tasks made now and awaited later: the arguments were temporaries long gone by then.
    task<net::stream> by_endpoint = net::async_connect(net::endpoint::loopback(port), 2s);
    task<net::stream> by_host = net::async_connect(std::string("127.0.0.1"), port, 2s);
    net::stream a = balrog::await(std::move(by_endpoint));
    net::stream b = balrog::await(std::move(by_host));
    balrog::await(talk_to_echo(a));
    balrog::await(talk_to_echo(b));
    server.join();
  });
}

TEST_F(NetCoro, AsyncResolve) {
  balrog::run([] {
    auto coro = []() -> task<void> {
      std::vector<net::endpoint> found = co_await net::async_resolve("127.0.0.1", 80);
      EXPECT_EQ(found, std::vector{net::endpoint::loopback(80)});
      found = co_await net::async_resolve("[::1]", 80);
      EXPECT_EQ(found, std::vector{net::endpoint::parse("[::1]:80")});
      found = co_await net::async_resolve("localhost", 443, 5s);  // a name: off the shard
      EXPECT_FALSE(found.empty());
      for (const auto& ep : found) {
        EXPECT_TRUE(ep.is_loopback()) << ep;
        EXPECT_EQ(ep.port(), 443);
      }
      try {
        (void)co_await net::async_resolve("", 80);
        ADD_FAILURE() << "no usage_error";
      } catch (const balrog::usage_error&) {
      }
    };
    balrog::spawn_task(coro()).join();
  });
}

// ---------------------------------------------------------------------------------------------
// many coroutine acceptors

TEST_F(NetCoro, SeveralCoroutineAcceptorsOnOneListener) {
  static constexpr int n = 8;
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto acceptor = [](net::listener& from) -> task<char> {
      net::stream s = co_await from.async_accept(5s);
      const std::string id = co_await s.async_read_exact(1, 5s);
      co_await s.async_write_all(id, 5s);
      co_return id[0];
    };
    std::vector<balrog::task_handle<char>> acceptors;
    for (int i = 0; i < n; ++i) acceptors.push_back(balrog::spawn_task(acceptor(l)));
    balrog::this_fiber::sleep_for(5ms);  // all of them waiting in async_accept
    std::vector<net::stream> clients;
    for (int i = 0; i < n; ++i) {
      clients.push_back(net::connect(l.local_endpoint(), 2s));
      clients.back().write_all(std::string(1, static_cast<char>('a' + i)));
    }
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(clients[static_cast<std::size_t>(i)].read_exact(1, 5s)[0], 'a' + i);
    }
    std::string seen;
    for (auto& h : acceptors) seen += h.join();
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, "abcdefgh");  // each acceptor got exactly one connection
  });
}

// ---------------------------------------------------------------------------------------------
// balrog::await: from a fiber, and from a plain thread (sync mode)

TEST_F(NetCoro, AwaitFromAFiber) {
  balrog::run([] {
    auto [a, b] = stream_pair();
    auto writer = balrog::spawn([&b = b] {
      balrog::this_fiber::sleep_for(10ms);
      b.write_all("late");
    });
    std::array<std::byte, 16> buf{};
    const std::size_t n = balrog::await(a.async_read_some(buf, 2s));  // suspends this fiber
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), n), "late");
    writer.join();
  });
}

// async_wait_readable: a coroutine parks on a stream without a buffer (an HTTP server's idle
// keep-alive connection) and reads afterwards what woke it.
TEST_F(NetCoro, AsyncWaitReadableParksWithoutReading) {
  balrog::run([] {
    auto [a, b] = stream_pair();
    auto parked = [](net::stream& s) -> task<std::string> {
      co_await s.async_wait_readable(5s);
      std::string got = co_await s.async_read_exact(5, 1s);
      bool timed_out = false;
      try {
        co_await s.async_wait_readable(20ms);
      } catch (const balrog::timeout_error&) {
        timed_out = true;
      }
      if (!timed_out) got += " (no timeout)";
      co_return got;
    };
    auto t = balrog::spawn_task(parked(b));
    balrog::this_fiber::sleep_for(20ms);
    a.write_all("hello");
    EXPECT_EQ(t.join(), "hello");
  });
}

TEST_F(NetCoro, AwaitFromAPlainThread) {
  // No balrog::run here: each await runs a private scheduler until its task is done.
  auto l = net::listen(net::endpoint::loopback(0));
  net::stream c = balrog::await(net::async_connect(l.local_endpoint(), 2s));
  net::stream s = balrog::await(l.async_accept(2s));
  std::thread writer([&s] {
    std::this_thread::sleep_for(10ms);
    s.write_all("from a thread");
  });
  std::array<std::byte, 32> buf{};
  const std::size_t n = balrog::await(c.async_read_some(buf, 2s));
  writer.join();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), n), "from a thread");
  balrog::await(c.async_write_all("back", 2s));
  EXPECT_EQ(s.read_exact(4, 2s), "back");  // and the blocking form on the same sockets
  EXPECT_THROW((void)balrog::await(c.async_read_some(buf, 10ms)), balrog::timeout_error);
}

TEST_F(NetCoro, BlockingCallsInsideCoroutinesAreRefused) {
  balrog::run([] {
    auto [a, b] = stream_pair();
    auto misuse = [](net::stream& s) -> task<void> {
      std::array<std::byte, 4> buf{};
      (void)s.read_some(buf, 1s);  // would have to wait: refused
      co_return;
    };
    EXPECT_THROW(balrog::spawn_task(misuse(a)).join(), balrog::usage_error);
    // And the stream was left in order.
    b.write_all("fine");
    EXPECT_EQ(a.read_exact(4, 1s), "fine");
  });
}

// ---------------------------------------------------------------------------------------------
// scale: one thread, one coroutine server, a thousand coroutine clients

TEST_F(NetCoro, AThousandCoroutineClientsAgainstACoroutineServer) {
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
    auto server = balrog::spawn_task(echo_server(l, clients), {.name = "server"});
    auto client = [](net::endpoint where, int i, int& ok) -> task<void> {
      // In waves of 100, to stay under a small net.core.somaxconn (128 on older kernels):
      // an overflow costs a client a 1 s SYN retransmit.
      co_await balrog::sleep_for(std::chrono::milliseconds(i / 100));
      net::stream c = co_await net::async_connect(where, 10s);
      const std::string msg = "client " + std::to_string(i);
      co_await c.async_write_all(msg, 10s);
      const std::string back = co_await c.async_read_exact(msg.size(), 10s);
      if (back == msg) ++ok;
    };
    int ok = 0;  // one thread: no atomics needed
    std::vector<balrog::task_handle<void>> tasks;
    tasks.reserve(clients);
    for (int i = 0; i < clients; ++i) {
      tasks.push_back(balrog::spawn_task(client(l.local_endpoint(), i, ok)));
    }
    for (auto& t : tasks) t.join();
    server.join();
    EXPECT_EQ(ok, clients);
  });
}
