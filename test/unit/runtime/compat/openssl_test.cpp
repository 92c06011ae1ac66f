// balrog::compat's OpenSSL twins (balrog/compat/openssl.hpp): SSL_set_fd & co. install a socket
// BIO whose I/O is the compat layer's, so OpenSSL's own SSL_connect / SSL_accept / SSL_read /
// SSL_write / SSL_shutdown suspend the fiber on blocking sockets, and behave as OpenSSL's socket
// BIO everywhere else (sync mode, non-blocking sockets, errors, EOF).
#include "balrog/compat/openssl.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "balrog/compat/posix_fd.hpp"
#include "balrog/compat/posix_net.hpp"
#include "compat_test_support.hpp"
#include "support/test_pki.hpp"

namespace compat = balrog::compat;
using namespace compat_test;

namespace {

struct ctx_deleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct ssl_deleter {
  void operator()(SSL* s) const { SSL_free(s); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_deleter>;
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

// The server's context: the test PKI's localhost certificate (made with OpenSSL's API in a
// temporary directory, test/unit/support/test_pki.hpp).
ctx_ptr server_context() {
  const auto& pki = balrog::test::test_pki::get();
  ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  check(ctx != nullptr, "SSL_CTX_new");
  check(SSL_CTX_use_certificate_chain_file(ctx.get(), pki.server_cert_file.c_str()) == 1,
        "server certificate");
  check(SSL_CTX_use_PrivateKey_file(ctx.get(), pki.server_key_file.c_str(), SSL_FILETYPE_PEM) == 1,
        "server key");
  return ctx;
}

// The client's: verifies the server against the test CA.
ctx_ptr client_context() {
  const auto& pki = balrog::test::test_pki::get();
  ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
  check(ctx != nullptr, "SSL_CTX_new");
  check(SSL_CTX_load_verify_locations(ctx.get(), pki.ca_file.c_str(), nullptr) == 1, "CA");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

ssl_ptr new_client(SSL_CTX* ctx) {
  ssl_ptr ssl(SSL_new(ctx));
  check(ssl != nullptr, "SSL_new");
  check(SSL_set1_host(ssl.get(), "localhost") == 1, "SSL_set1_host");
  return ssl;
}

using set_fd_fn = int (*)(SSL*, int);

// What a failed (or finished) SSL call left: its return value, SSL_get_error, the first
// queued error's library and reason, and errno for SSL_ERROR_SYSCALL.
struct ssl_outcome {
  int ret = 0;
  int ssl_error = 0;
  int lib = 0;
  int reason = 0;
  int sys_errno = 0;
  friend bool operator==(const ssl_outcome&, const ssl_outcome&) = default;
  friend std::ostream& operator<<(std::ostream& os, const ssl_outcome& o) {
    return os << "{ret " << o.ret << ", SSL_get_error " << o.ssl_error << ", lib " << o.lib
              << ", reason " << o.reason << ", errno " << o.sys_errno << " ("
              << (o.sys_errno != 0 ? std::strerror(o.sys_errno) : "-") << ")}";
  }
};

template <class Call>
ssl_outcome observe(SSL* ssl, Call call) {
  ERR_clear_error();
  errno = 0;
  ssl_outcome o;
  o.ret = call();
  const int saved_errno = errno;
  o.ssl_error = SSL_get_error(ssl, o.ret);
  const unsigned long e = ERR_peek_error();
  o.lib = ERR_GET_LIB(e);
  o.reason = ERR_GET_REASON(e);
  o.sys_errno = o.ssl_error == SSL_ERROR_SYSCALL ? saved_errno : 0;
  ERR_clear_error();
  return o;
}

// One TLS echo exchange as the server side: handshake, read a line, (wait), write it back,
// close_notify. On whatever runs it, with whichever SSL_set_fd.
bool serve_one(SSL_CTX* ctx, int fd, set_fd_fn set_fd, std::chrono::milliseconds delay) {
  ssl_ptr ssl(SSL_new(ctx));
  if (!ssl || set_fd(ssl.get(), fd) != 1) return false;
  if (SSL_accept(ssl.get()) != 1) return false;
  char buf[256];
  const int n = SSL_read(ssl.get(), buf, sizeof buf);
  if (n <= 0) return false;
  if (delay > 0ms) balrog::this_fiber::sleep_for(delay);
  if (SSL_write(ssl.get(), buf, n) != n) return false;
  return SSL_shutdown(ssl.get()) >= 0;
}

// The client side: connect (blocking socket), handshake, write `message`, read the echo, then
// read again and expect the server's close_notify (SSL_ERROR_ZERO_RETURN).
std::string client_one(SSL_CTX* ctx, const sockaddr_in& addr, set_fd_fn set_fd,
                       const std::string& message, ssl_outcome* after_echo = nullptr) {
  unique_fd fd = tcp_socket();
  if (compat::connect(fd, as_sockaddr(addr), sizeof addr) != 0) return "connect failed";
  ssl_ptr ssl = new_client(ctx);
  if (set_fd(ssl.get(), fd) != 1) return "set_fd failed";
  if (SSL_connect(ssl.get()) != 1) return "SSL_connect failed";
  if (SSL_write(ssl.get(), message.data(), static_cast<int>(message.size())) !=
      static_cast<int>(message.size())) {
    return "SSL_write failed";
  }
  std::string got;
  char buf[256];
  while (got.size() < message.size()) {
    const int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n <= 0) return "SSL_read failed";
    got.append(buf, static_cast<std::size_t>(n));
  }
  const ssl_outcome end = observe(ssl.get(), [&] { return SSL_read(ssl.get(), buf, sizeof buf); });
  if (after_echo != nullptr) *after_echo = end;
  SSL_shutdown(ssl.get());
  return got;
}

}  // namespace

// 100 client fibers and a server that runs a fiber per connection, all on one OS thread, over
// blocking sockets: SSL_connect / SSL_accept / SSL_read / SSL_write / SSL_shutdown are
// OpenSSL's own, only SSL_set_fd is the twin. The server holds every connection for 150 ms
// before it answers: one connection at a time that is 15 s; concurrently a fraction of it. The
// peak number of connections held at once proves they overlapped.
TEST(CompatOpenssl, HundredClientFibersAndAServerOnOneThread) {
  ignore_sigpipe no_sigpipe;
  constexpr int clients = 100;
  constexpr auto delay = 150ms;
  ctx_ptr server_ctx = server_context();
  ctx_ptr client_ctx = client_context();
  tcp_listener listener = tcp_listen(clients + 16);
  const std::thread::id main_thread = std::this_thread::get_id();

  std::atomic<int> held{0};
  std::atomic<int> peak{0};
  std::atomic<int> served{0};
  std::atomic<int> other_threads{0};
  std::vector<std::string> replies(clients);
  std::vector<ssl_outcome> endings(clients);
  const stopwatch sw;
  balrog::run([&] {
    auto server = balrog::spawn([&] {
      std::vector<balrog::fiber<void>> handlers;
      for (int i = 0; i < clients; ++i) {
        const int fd = compat::accept(listener.fd, nullptr, nullptr);  // blocking listener
        ASSERT_GE(fd, 0) << std::strerror(errno);
        handlers.push_back(balrog::spawn([&, fd] {
          if (std::this_thread::get_id() != main_thread) other_threads.fetch_add(1);
          const int now = held.fetch_add(1) + 1;   // connections in progress on the server
          peak.store(std::max(peak.load(), now));  // one thread: no race
          if (serve_one(server_ctx.get(), fd, compat::SSL_set_fd, delay)) served.fetch_add(1);
          held.fetch_sub(1);
          compat::close(fd);
        }));
      }
      for (auto& h : handlers) h.join();
    });
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < clients; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        if (std::this_thread::get_id() != main_thread) other_threads.fetch_add(1);
        replies[static_cast<std::size_t>(i)] = client_one(
            client_ctx.get(), listener.addr, compat::SSL_set_fd,
            "hello from client " + std::to_string(i), &endings[static_cast<std::size_t>(i)]);
      }));
    }
    for (auto& f : fibers) f.join();
    server.join();
  });
  const auto elapsed = sw.elapsed();

  EXPECT_EQ(other_threads.load(), 0);
  EXPECT_EQ(served.load(), clients);
  for (int i = 0; i < clients; ++i) {
    EXPECT_EQ(replies[static_cast<std::size_t>(i)], "hello from client " + std::to_string(i));
    // The server's close_notify after the echo: a clean end of the TLS stream.
    EXPECT_EQ(endings[static_cast<std::size_t>(i)].ret, 0);
    EXPECT_EQ(endings[static_cast<std::size_t>(i)].ssl_error, SSL_ERROR_ZERO_RETURN);
  }
  // Overlap: many connections were held at once, and the whole took far less than one at a
  // time would have.
  EXPECT_GE(peak.load(), 10) << "connections held at once";
  EXPECT_LT(elapsed, clients * delay / 2);
}

// While a fiber waits in SSL_connect (the server is slow to answer), other fibers of the thread
// keep running.
TEST(CompatOpenssl, HandshakeWaitsOnTheFiberNotTheThread) {
  ctx_ptr server_ctx = server_context();
  ctx_ptr client_ctx = client_context();
  tcp_listener listener = tcp_listen();
  // The server, on a plain thread with OpenSSL's own SSL_set_fd, accepts after 50 ms.
  std::thread server([&] {
    unique_fd fd(::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
    std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(serve_one(server_ctx.get(), fd, ::SSL_set_fd, 0ms));
  });
  balrog::run([&] {
    ticker t;
    const stopwatch sw;
    EXPECT_EQ(client_one(client_ctx.get(), listener.addr, compat::SSL_set_fd, "ping"), "ping");
    EXPECT_GE(sw.elapsed(), 45ms);
    EXPECT_GE(t.stop(), enough_ticks(50ms));
  });
  server.join();
}

// Sync mode (no balrog scheduler on either thread): the twins are OpenSSL's socket BIO.
TEST(CompatOpenssl, SyncModeBehavesAsOpensslsSetFd) {
  ctx_ptr server_ctx = server_context();
  ctx_ptr client_ctx = client_context();
  tcp_listener listener = tcp_listen();
  for (const set_fd_fn server_set_fd : {set_fd_fn{::SSL_set_fd}, set_fd_fn{compat::SSL_set_fd}}) {
    std::thread server([&] {
      unique_fd fd(::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
      EXPECT_TRUE(serve_one(server_ctx.get(), fd, server_set_fd, 0ms));
    });
    ssl_outcome end;
    EXPECT_EQ(client_one(client_ctx.get(), listener.addr, compat::SSL_set_fd, "sync", &end),
              "sync");
    EXPECT_EQ(end.ssl_error, SSL_ERROR_ZERO_RETURN);
    server.join();
  }
}

// What code may observe of the BIO: OpenSSL's type, name, fd, close flag.
TEST(CompatOpenssl, TheBioLooksLikeOpensslsSocketBio) {
  auto [a, b] = tcp_pair();
  ctx_ptr ctx = client_context();
  ssl_ptr ssl = new_client(ctx.get());
  ASSERT_EQ(compat::SSL_set_fd(ssl.get(), a), 1);
  BIO* rbio = SSL_get_rbio(ssl.get());
  ASSERT_NE(rbio, nullptr);
  EXPECT_EQ(SSL_get_wbio(ssl.get()), rbio);
  EXPECT_EQ(BIO_method_type(rbio), BIO_TYPE_SOCKET);
  EXPECT_STREQ(BIO_method_name(rbio), "socket");
  EXPECT_EQ(SSL_get_fd(ssl.get()), a.get());
  EXPECT_EQ(SSL_get_rfd(ssl.get()), a.get());
  EXPECT_EQ(SSL_get_wfd(ssl.get()), a.get());
  EXPECT_EQ(BIO_get_close(rbio), BIO_NOCLOSE);
  EXPECT_EQ(BIO_eof(rbio), 0);

  // SSL_set_rfd / SSL_set_wfd with one fd share one BIO, as OpenSSL's do.
  ssl_ptr split = new_client(ctx.get());
  ASSERT_EQ(compat::SSL_set_rfd(split.get(), a), 1);
  ASSERT_EQ(compat::SSL_set_wfd(split.get(), a), 1);
  EXPECT_EQ(SSL_get_rbio(split.get()), SSL_get_wbio(split.get()));
  // ... and with two fds, two BIOs.
  ssl_ptr two = new_client(ctx.get());
  ASSERT_EQ(compat::SSL_set_rfd(two.get(), a), 1);
  ASSERT_EQ(compat::SSL_set_wfd(two.get(), b), 1);
  EXPECT_NE(SSL_get_rbio(two.get()), SSL_get_wbio(two.get()));
  EXPECT_EQ(SSL_get_rfd(two.get()), a.get());
  EXPECT_EQ(SSL_get_wfd(two.get()), b.get());

  // BIO_new_socket with BIO_CLOSE owns the fd: freeing the BIO closes it.
  auto [c, d] = unix_pair();
  const int owned = c.release();
  BIO* bio = compat::BIO_new_socket(owned, BIO_CLOSE);
  ASSERT_NE(bio, nullptr);
  EXPECT_EQ(BIO_get_fd(bio, nullptr), owned);
  EXPECT_EQ(BIO_get_close(bio), BIO_CLOSE);
  EXPECT_EQ(BIO_puts(bio, "abc"), 3);
  char buf[8] = {};
  EXPECT_EQ(::read(d, buf, sizeof buf), 3);
  ::close(d.release());  // end of stream for the BIO
  EXPECT_EQ(BIO_read(bio, buf, sizeof buf), 0);
  EXPECT_EQ(BIO_should_retry(bio), 0);
  EXPECT_EQ(BIO_eof(bio), 1);
  BIO_free(bio);
  errno = 0;
  EXPECT_EQ(::fcntl(owned, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);

  // BIO_dup_chain copies the fd and the close flag, as with OpenSSL's socket BIO.
  BIO* original = compat::BIO_new_socket(a, BIO_NOCLOSE);
  ASSERT_NE(original, nullptr);
  BIO* copy = BIO_dup_chain(original);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(BIO_get_fd(copy, nullptr), a.get());
  EXPECT_EQ(BIO_get_close(copy), BIO_NOCLOSE);
  EXPECT_EQ(BIO_method_type(copy), BIO_TYPE_SOCKET);
  BIO_free(copy);
  BIO_free(original);

  // BIO_new(BIO_s_socket()) + BIO_set_fd, the long way round.
  BIO* manual = BIO_new(compat::BIO_s_socket());
  ASSERT_NE(manual, nullptr);
  EXPECT_EQ(BIO_get_fd(manual, nullptr), -1);  // no fd yet
  BIO_set_fd(manual, b.get(), BIO_NOCLOSE);
  EXPECT_EQ(BIO_get_fd(manual, nullptr), b.get());
  BIO_free(manual);
  EXPECT_GE(::fcntl(b, F_GETFD), 0);  // BIO_NOCLOSE: still open
}

// A non-blocking socket keeps OpenSSL's non-blocking contract on a fiber: SSL_connect returns
// -1 with SSL_ERROR_WANT_READ and the retry flag, as with OpenSSL's BIO.
TEST(CompatOpenssl, NonBlockingSocketGivesWantReadOnAFiber) {
  ctx_ptr ctx = client_context();
  const auto attempt = [&](set_fd_fn set_fd) {
    auto [a, b] = tcp_pair();  // b never answers
    set_nonblocking(a, true);
    ssl_ptr ssl = new_client(ctx.get());
    EXPECT_EQ(set_fd(ssl.get(), a), 1);
    const ssl_outcome o = observe(ssl.get(), [&] { return SSL_connect(ssl.get()); });
    EXPECT_NE(BIO_should_retry(SSL_get_rbio(ssl.get())), 0);
    return o;
  };
  const ssl_outcome original = attempt(::SSL_set_fd);
  EXPECT_EQ(original.ssl_error, SSL_ERROR_WANT_READ);
  EXPECT_EQ(balrog::run([&] { return attempt(compat::SSL_set_fd); }), original);
  EXPECT_EQ(attempt(compat::SSL_set_fd), original);
}

// A peer that reads the ClientHello and then closes the connection (FIN), or resets it (RST):
// SSL_connect fails the same way with the twin — on a fiber and in sync mode — as with
// OpenSSL's own SSL_set_fd. FIN: OpenSSL sees end of stream (BIO_eof) and reports
// SSL_ERROR_SSL "unexpected eof while reading"; RST: SSL_ERROR_SYSCALL with ECONNRESET.
TEST(CompatOpenssl, PeerClosingMidHandshakeFailsAsWithOpenssl) {
  ignore_sigpipe no_sigpipe;
  ctx_ptr ctx = client_context();
  for (const bool reset : {false, true}) {
    SCOPED_TRACE(reset ? "peer resets" : "peer closes");
    const auto handshake = [&](set_fd_fn set_fd) {
      tcp_listener listener = tcp_listen();
      std::thread peer([&] {
        unique_fd fd(::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
        // The whole ClientHello record (unread bytes would make close() send a reset).
        unsigned char header[5];
        ASSERT_EQ(::recv(fd, header, sizeof header, MSG_WAITALL), 5);
        const std::size_t length = static_cast<std::size_t>(header[3] << 8 | header[4]);
        std::vector<char> hello(length);
        ASSERT_EQ(::recv(fd, hello.data(), length, MSG_WAITALL), static_cast<ssize_t>(length));
        std::this_thread::sleep_for(20ms);  // the client waits in SSL_connect by now
        if (reset) {
          close_with_reset(fd);
        } else {
          fd.reset();
        }
      });
      unique_fd fd = tcp_socket();
      EXPECT_EQ(compat::connect(fd, as_sockaddr(listener.addr), sizeof listener.addr), 0);
      ssl_ptr ssl = new_client(ctx.get());
      EXPECT_EQ(set_fd(ssl.get(), fd), 1);
      const ssl_outcome o = observe(ssl.get(), [&] { return SSL_connect(ssl.get()); });
      peer.join();
      return o;
    };
    const ssl_outcome original = handshake(::SSL_set_fd);
    if (reset) {
      EXPECT_EQ(original.ssl_error, SSL_ERROR_SYSCALL) << original;
      EXPECT_EQ(original.sys_errno, ECONNRESET) << original;
    } else {
      EXPECT_EQ(original.ssl_error, SSL_ERROR_SSL) << original;
      EXPECT_EQ(original.reason, SSL_R_UNEXPECTED_EOF_WHILE_READING) << original;
    }
    EXPECT_EQ(handshake(compat::SSL_set_fd), original) << "sync mode";
    EXPECT_EQ(balrog::run([&] { return handshake(compat::SSL_set_fd); }), original) << "on a fiber";
  }
}

// OpenSSL's error queue belongs to the OS thread, which the fibers share. While a fiber waits
// in a BIO read, another fiber clears the queue (as OpenSSL asks before each I/O call) and
// leaves an error of its own: the waiting fiber still finds its own error, and only it, as it
// would on a thread of its own.
TEST(CompatOpenssl, AFiberKeepsItsOwnErrorQueueAcrossAWait) {
  auto [a, b] = unix_pair();
  balrog::run([&, &a = a, &b = b] {
    BIO* bio = compat::BIO_new_socket(a, BIO_NOCLOSE);
    ASSERT_NE(bio, nullptr);
    auto other = balrog::spawn([&] {
      ERR_clear_error();
      ERR_raise_data(ERR_LIB_USER, 7, "the other fiber's");
      EXPECT_EQ(compat::write(b, "x", 1), 1);
    });
    ERR_clear_error();
    ERR_raise_data(ERR_LIB_USER, 42, "mine");
    char c = 0;
    errno = 0;
    EXPECT_EQ(BIO_read(bio, &c, 1), 1);  // waits for the other fiber's byte
    EXPECT_EQ(errno, 0);
    const char* data = nullptr;
    int flags = 0;
    const unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
    EXPECT_EQ(ERR_GET_LIB(e), ERR_LIB_USER);
    EXPECT_EQ(ERR_GET_REASON(e), 42);
    EXPECT_STREQ(data, "mine");
    EXPECT_EQ(ERR_get_error(), 0UL);
    other.join();
    BIO_free(bio);
  });
}

// Through SSL_read: a fiber waits in SSL_read while another fiber leaves errors behind on the
// thread's queue; then the peer resets the connection. SSL_get_error still says
// SSL_ERROR_SYSCALL (errno ECONNRESET), as on a thread of its own, not SSL_ERROR_SSL. (OpenSSL
// 3.0's read path happens to drop foreign errors here by itself; the test pins the outcome.)
TEST(CompatOpenssl, AnotherFibersLeftoverErrorsDoNotChangeSslGetError) {
  ignore_sigpipe no_sigpipe;
  ctx_ptr server_ctx = server_context();
  ctx_ptr client_ctx = client_context();
  auto [c, s] = tcp_pair();
  bool reading = false;
  balrog::run([&, &c = c, &s = s] {
    auto server = balrog::spawn([&] {
      ssl_ptr ssl(SSL_new(server_ctx.get()));
      ASSERT_EQ(compat::SSL_set_fd(ssl.get(), s), 1);
      ASSERT_EQ(SSL_accept(ssl.get()), 1);
      // One thread: once `reading` is set, the client can only be suspended inside SSL_read.
      while (!reading) balrog::this_fiber::sleep_for(1ms);
      // A failing call whose errors this fiber never reads (nor clears)...
      EXPECT_EQ(
          SSL_CTX_use_certificate_file(client_ctx.get(), "/nonexistent/cert.pem", SSL_FILETYPE_PEM),
          0);
      EXPECT_NE(ERR_peek_error(), 0UL);
      // ... then a reset under the client's SSL_read.
      close_with_reset(s);
    });
    ssl_ptr ssl = new_client(client_ctx.get());
    ASSERT_EQ(compat::SSL_set_fd(ssl.get(), c), 1);
    ASSERT_EQ(SSL_connect(ssl.get()), 1);
    char buf[16];
    ERR_clear_error();
    reading = true;
    errno = 0;
    const int n = SSL_read(ssl.get(), buf, sizeof buf);  // waits until the reset
    const int err = errno;
    EXPECT_EQ(n, -1);
    EXPECT_EQ(SSL_get_error(ssl.get(), n), SSL_ERROR_SYSCALL);
    EXPECT_EQ(err, ECONNRESET);
    server.join();
  });
  ERR_clear_error();
}

// The fd BIO's twin (BIO_new_fd): on a fiber, a read of an empty pipe suspends the fiber, not
// the thread; BIO_gets reads a line as OpenSSL's does.
TEST(CompatOpenssl, FdBioOnAPipeWaitsOnTheFiber) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  unique_fd in(p[0]);
  unique_fd out(p[1]);
  later writer(50ms, [&] { ASSERT_EQ(::write(out, "line one\nrest", 13), 13); });
  balrog::run([&] {
    BIO* bio = compat::BIO_new_fd(in, BIO_NOCLOSE);
    ASSERT_NE(bio, nullptr);
    EXPECT_EQ(BIO_method_type(bio), BIO_TYPE_FD);
    EXPECT_STREQ(BIO_method_name(bio), "file descriptor");
    EXPECT_EQ(BIO_get_fd(bio, nullptr), static_cast<int>(in));
    ticker t;
    char buf[32];
    EXPECT_EQ(BIO_gets(bio, buf, sizeof buf), 9);
    EXPECT_STREQ(buf, "line one\n");
    EXPECT_GE(t.stop(), enough_ticks(50ms));
    EXPECT_EQ(BIO_read(bio, buf, sizeof buf), 4);
    BIO_free(bio);
  });
  writer.join();
  out.reset();
  // The end of the pipe, off a fiber: 0, EOF, no retry (as OpenSSL's fd BIO).
  BIO* bio = compat::BIO_new_fd(in, BIO_NOCLOSE);
  char c = 0;
  EXPECT_EQ(BIO_read(bio, &c, 1), 0);
  EXPECT_EQ(BIO_eof(bio), 1);
  EXPECT_EQ(BIO_should_retry(bio), 0);
  BIO_free(bio);
}

// A regular file through both fd BIOs, OpenSSL's and balrog's: the same reads, writes, seeks
// and tells; BIO_CLOSE closes the fd.
TEST(CompatOpenssl, FdBioOnAFileIsOpensslsFdBio) {
  for (auto* make : {&::BIO_new_fd, &compat::BIO_new_fd}) {
    char path[] = "/tmp/balrog-fd-bio-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::unlink(path);
    BIO* bio = make(fd, BIO_CLOSE);
    ASSERT_NE(bio, nullptr);
    EXPECT_EQ(BIO_puts(bio, "hello\nworld\n"), 12);
    EXPECT_EQ(BIO_tell(bio), 12);
    EXPECT_EQ(BIO_seek(bio, 6), 6);
    char buf[16];
    EXPECT_EQ(BIO_gets(bio, buf, sizeof buf), 6);
    EXPECT_STREQ(buf, "world\n");
    EXPECT_EQ(BIO_read(bio, buf, sizeof buf), 0);
    EXPECT_EQ(BIO_eof(bio), 1);
    EXPECT_EQ(BIO_reset(bio), 0);
    EXPECT_EQ(BIO_read(bio, buf, 5), 5);
    EXPECT_EQ(BIO_get_close(bio), BIO_CLOSE);
    BIO_free(bio);
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed by the BIO
    EXPECT_EQ(errno, EBADF);
  }
}
