// balrog::net::tls_stream: client and server on loopback, on fibers, in coroutines and in sync
// mode, with certificates from a private CA made by the test (support/test_pki.hpp).
// Verification (untrusted CA, wrong host name, IP addresses, client certificates), SNI, ALPN,
// session resumption, close_notify and truncation, non-TLS peers, deadlines and close().
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/generated/tls_blocking.hpp"
#include "balrog/net.hpp"
#include "balrog/net/tls_stream.hpp"
#include "balrog/run.hpp"
#include "balrog/sync.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "support/open_fds.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
namespace net = balrog::net;
using balrog::test::test_pki;

namespace {

using balrog::test::open_fds;

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)test_pki::get();  // its files stay open for no one; made before counting
    // This thread's sync-mode scheduler (an epoll fd and an eventfd, kept until the thread
    // exits): made before counting too.
    balrog::block_on(std::suspend_never{});
    fds_before_ = open_fds();
  }
  void TearDown() override { EXPECT_EQ(open_fds(), fds_before_) << "the test leaked fds"; }

 private:
  std::size_t fds_before_ = 0;
};

net::tls_context server_context(net::tls_server_options o = {}) {
  const test_pki& pki = test_pki::get();
  if (o.certificate_chain_file.empty() && o.certificate_chain_pem.empty()) {
    o.certificate_chain_file = pki.server_cert_file;
    o.private_key_file = pki.server_key_file;
  }
  return net::tls_context::server(o);
}

net::tls_context client_context(net::tls_client_options o = {}) {
  if (o.ca_file.empty()) o.ca_file = test_pki::get().ca_file;
  return net::tls_context::client(o);
}

// One listener on a free loopback port.
struct loopback_server {
  net::listener l = net::listen(net::endpoint::loopback(0));
  std::uint16_t port() const { return l.local_endpoint().port(); }
};

// Server half of the echo tests: handshake, then echo until close_notify, then answer it.
void tls_echo(net::tls_stream& s) {
  s.handshake(5s);
  std::array<std::byte, 4096> buf{};
  while (const std::size_t n = s.read_some(buf, 5s)) s.write_all(std::span(buf).first(n), 5s);
  s.shutdown(5s);
}

void talk_to_tls_echo(net::tls_stream& s) {
  for (std::string_view msg : {"hello", "a somewhat longer message", "x"}) {
    s.write_all(msg, 5s);
    EXPECT_EQ(s.read_exact(msg.size(), 5s), msg);
  }
  s.shutdown(5s);
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(s.read_some(buf, 5s), 0u);  // the server's close_notify
}

TEST_F(Tls, FiberClientAndServerEchoBothWays) {
  balrog::run([] {
    loopback_server srv;
    const auto sctx = server_context({.alpn = {"http/1.1", "h2"}});
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      tls_echo(s);
      EXPECT_EQ(s.server_name(), "localhost");   // SNI
      EXPECT_EQ(s.alpn_protocol(), "http/1.1");  // the server's preference wins
    });
    const auto cctx = client_context({.alpn = {"h2", "http/1.1"}});
    net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
    EXPECT_EQ(c.protocol_version(), "TLSv1.3");
    EXPECT_EQ(c.alpn_protocol(), "http/1.1");
    EXPECT_EQ(c.server_name(), "localhost");
    EXPECT_FALSE(c.session_reused());
    talk_to_tls_echo(c);
    server.join();
  });
}

TEST_F(Tls, AlpnWithNothingInCommonGoesOnWithoutAProtocol) {
  balrog::run([] {
    loopback_server srv;
    const auto sctx = server_context({.alpn = {"h2"}});
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      tls_echo(s);
      EXPECT_EQ(s.alpn_protocol(), "");
    });
    const auto cctx = client_context({.alpn = {"http/1.1"}});
    net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
    EXPECT_EQ(c.alpn_protocol(), "");
    talk_to_tls_echo(c);
    server.join();
  });
}

balrog::task<void> coroutine_server(net::listener& l, const net::tls_context& ctx) {
  net::stream accepted = co_await l.async_accept(5s);
  net::tls_stream s(std::move(accepted), ctx);
  co_await s.async_handshake(5s);
  std::array<std::byte, 1024> buf{};
  for (;;) {
    const std::size_t n = co_await s.async_read_some(buf, 5s);
    if (n == 0) break;
    co_await s.async_write_all(std::span<const std::byte>(buf.data(), n), 5s);
  }
  co_await s.async_shutdown(5s);
}

balrog::task<std::string> coroutine_client(std::uint16_t port, const net::tls_context& ctx) {
  net::tls_stream c = co_await net::async_tls_connect("localhost", port, ctx, 5s);
  co_await c.async_write_all(std::string_view("ping over TLS"), 5s);
  std::string got(13, '\0');
  co_await c.async_read_exact(std::as_writable_bytes(std::span<char>(got)), 5s);
  co_await c.async_shutdown(5s);
  std::array<std::byte, 8> rest{};
  const std::size_t end = co_await c.async_read_some(rest, 5s);
  if (end != 0) got += "<no close_notify>";
  co_return got;
}

TEST_F(Tls, CoroutinesOnBothSides) {
  balrog::run([] {
    loopback_server srv;
    const auto sctx = server_context();
    const auto cctx = client_context();
    auto server = balrog::spawn_task(coroutine_server(srv.l, sctx));
    auto client = balrog::spawn_task(coroutine_client(srv.port(), cctx));
    EXPECT_EQ(client.join(), "ping over TLS");
    server.join();
  });
}

// An echo server for one connection, on a thread of its own running balrog.
std::thread echo_server_thread(loopback_server& srv, const net::tls_context& sctx) {
  return std::thread([&srv, sctx] {
    balrog::run([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      tls_echo(s);
    });
  });
}

TEST_F(Tls, SyncModeClientAgainstAFiberServer) {
  loopback_server srv;
  std::thread server_thread = echo_server_thread(srv, server_context());
  // This thread runs no runtime: the calls block it in poll(2).
  {
    const auto cctx = client_context();
    net::tls_stream c = net::tls_connect("127.0.0.1", srv.port(), cctx, 5s);  // IP SAN
    talk_to_tls_echo(c);
  }
  server_thread.join();
}

TEST_F(Tls, BlockingShimsFromAPlainThreadThroughAwait) {
  loopback_server srv;
  std::thread server_thread = echo_server_thread(srv, server_context());
  {
    const auto cctx = client_context();
    // balrog::await of the coroutine form on a plain thread: a private scheduler.
    net::tls_stream c = balrog::await(net::async_tls_connect("localhost", srv.port(), cctx, 5s));
    talk_to_tls_echo(c);
  }
  server_thread.join();
}

TEST_F(Tls, GeneratedBlockingShims) {
  balrog::run([] {
    loopback_server srv;
    const auto sctx = server_context();
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      net::blocking::handshake(s, 5s);
      std::array<std::byte, 64> buf{};
      const std::size_t n = net::blocking::read_some(s, buf, 5s);
      net::blocking::write_all(s, std::span<const std::byte>(buf.data(), n), 5s);
      net::blocking::shutdown(s, 5s);
    });
    const auto cctx = client_context();
    net::tls_stream c = net::blocking::tls_connect("localhost", srv.port(), cctx, 5s);
    net::blocking::write_all(c, std::string_view("shim"), 5s);
    std::array<std::byte, 4> got{};
    net::blocking::read_exact(c, got, 5s);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(got.data()), got.size()), "shim");
    server.join();
  });
}

// Runs a server that expects the handshake to fail; returns what the client's handshake threw.
template <class Client>
void expect_handshake_failure(net::tls_context sctx, Client client) {
  balrog::run([&] {
    loopback_server srv;
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      EXPECT_THROW(s.handshake(5s), balrog::io_error);  // the client's alert, or its hang-up
    });
    client(srv.port());
    server.join();
  });
}

TEST_F(Tls, UntrustedCertificateFailsVerification) {
  // The system store does not know the test CA.
  expect_handshake_failure(server_context(), [](std::uint16_t port) {
    const auto cctx = net::tls_context::client();
    try {
      (void)net::tls_connect("localhost", port, cctx, 5s);
      ADD_FAILURE() << "the handshake succeeded";
    } catch (const net::tls_error& e) {
      EXPECT_EQ(e.verify_result(), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << e.what();
      EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("tls_stream::handshake(fd "), std::string::npos)
          << e.what();
      EXPECT_EQ(e.code(), std::errc::protocol_error);
    }
  });
}

TEST_F(Tls, CertificateOfAnotherCaFailsVerification) {
  const test_pki& pki = test_pki::get();
  const auto sctx = server_context({.certificate_chain_file = pki.other_server_cert_file,
                                    .private_key_file = pki.other_server_key_file});
  expect_handshake_failure(sctx, [](std::uint16_t port) {
    const auto cctx = client_context();
    try {
      (void)net::tls_connect("localhost", port, cctx, 5s);
      ADD_FAILURE() << "the handshake succeeded";
    } catch (const net::tls_error& e) {
      EXPECT_NE(e.verify_result(), X509_V_OK) << e.what();
    }
  });
}

TEST_F(Tls, WrongHostNameFailsVerification) {
  expect_handshake_failure(server_context(), [](std::uint16_t port) {
    const auto cctx = client_context();
    net::stream s = net::connect(net::endpoint::loopback(port), 5s);
    net::tls_stream c(std::move(s), cctx, "wrong.example");
    try {
      c.handshake(5s);
      ADD_FAILURE() << "the handshake succeeded";
    } catch (const net::tls_error& e) {
      EXPECT_EQ(e.verify_result(), X509_V_ERR_HOSTNAME_MISMATCH) << e.what();
      EXPECT_NE(std::string(e.what()).find("hostname mismatch"), std::string::npos) << e.what();
    }
  });
}

TEST_F(Tls, WrongIpAddressFailsVerification) {
  expect_handshake_failure(server_context(), [](std::uint16_t port) {
    const auto cctx = client_context();
    net::stream s = net::connect(net::endpoint::loopback(port), 5s);
    net::tls_stream c(std::move(s), cctx, "127.0.0.2");  // not in the certificate
    try {
      c.handshake(5s);
      ADD_FAILURE() << "the handshake succeeded";
    } catch (const net::tls_error& e) {
      EXPECT_EQ(e.verify_result(), X509_V_ERR_IP_ADDRESS_MISMATCH) << e.what();
    }
  });
}

TEST_F(Tls, VerificationOffAcceptsAnyCertificate) {
  balrog::run([] {
    loopback_server srv;
    const auto sctx = server_context();
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      tls_echo(s);
    });
    const auto cctx = net::tls_context::client({.verify_peer = false});
    net::stream s = net::connect(net::endpoint::loopback(srv.port()), 5s);
    net::tls_stream v(std::move(s), cctx, "wrong.example");
    talk_to_tls_echo(v);
    server.join();
  });
}

TEST_F(Tls, ClientCertificates) {
  const test_pki& pki = test_pki::get();
  const auto sctx = server_context({.verify_client = true, .ca_file = pki.ca_file});
  // Without a certificate: the server refuses (TLS 1.3 reports it on the client's first read).
  balrog::run([&] {
    loopback_server srv;
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      try {
        s.handshake(5s);
        ADD_FAILURE() << "the server accepted a client without a certificate";
      } catch (const net::tls_error& e) {
        EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
      }
    });
    const auto cctx = client_context();
    net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
    std::array<std::byte, 8> buf{};
    EXPECT_THROW((void)c.read_some(buf, 5s), net::tls_error);
    server.join();
  });
  // With one: accepted.
  balrog::run([&] {
    loopback_server srv;
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      tls_echo(s);
    });
    const auto cctx = client_context(
        {.certificate_chain_file = pki.client_cert_file, .private_key_file = pki.client_key_file});
    net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
    talk_to_tls_echo(c);
    server.join();
  });
}

// Two connections with one client context; whether the second resumed the first's session.
std::vector<bool> resumed_flags(const net::tls_context& sctx, const net::tls_context& cctx) {
  std::vector<bool> reused;
  balrog::run([&] {
    loopback_server srv;
    auto server = balrog::spawn([&] {
      for (int i = 0; i < 2; ++i) {
        net::tls_stream s(srv.l.accept(5s), sctx);
        tls_echo(s);
      }
    });
    for (int i = 0; i < 2; ++i) {
      net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
      talk_to_tls_echo(c);  // reads: the TLS 1.3 tickets arrive
      reused.push_back(c.session_reused());
    }
    server.join();
  });
  return reused;
}

TEST_F(Tls, SessionResumption) {
  const auto sctx = server_context();
  EXPECT_EQ(resumed_flags(sctx, client_context()), (std::vector<bool>{false, true}));
  EXPECT_EQ(resumed_flags(sctx, client_context({.session_resumption = false})),
            (std::vector<bool>{false, false}));
  const auto no_tickets = server_context({.session_resumption = false});
  EXPECT_EQ(resumed_flags(no_tickets, client_context()), (std::vector<bool>{false, false}));
}

TEST_F(Tls, SessionResumptionOverTls12) {
  const auto sctx = server_context();
  const auto cctx = net::tls_context::client({.ca_file = test_pki::get().ca_file});
  SSL_CTX_set_max_proto_version(cctx.native_handle(), TLS1_2_VERSION);
  EXPECT_EQ(resumed_flags(sctx, cctx), (std::vector<bool>{false, true}));
}

TEST_F(Tls, ServerContextFromPemText) {
  const test_pki& pki = test_pki::get();
  balrog::run([&] {
    loopback_server srv;
    const auto sctx = net::tls_context::server(
        {.certificate_chain_pem = pki.server_cert_pem, .private_key_pem = pki.server_key_pem});
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      tls_echo(s);
    });
    const auto cctx = client_context();
    net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
    talk_to_tls_echo(c);
    server.join();
  });
}

TEST_F(Tls, LargeTransfersBothWaysAtOnce) {
  // 4 MiB each way, written and read concurrently: reads wait for writes and the reverse.
  constexpr std::size_t total = 4u << 20;
  balrog::run([] {
    loopback_server srv;
    const auto sctx = server_context();
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      tls_echo(s);
    });
    const auto cctx = client_context();
    net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
    std::string out(total, '\0');
    for (std::size_t i = 0; i < total; ++i)
      out[i] = static_cast<char>('a' + (i * 7 + i / 997) % 26);
    auto writer = balrog::spawn([&] { c.write_all(out, 20s); });
    std::string in(total, '\0');
    c.read_exact(std::as_writable_bytes(std::span<char>(in)), 20s);
    writer.join();
    EXPECT_TRUE(in == out);
    c.shutdown(5s);
    std::array<std::byte, 16> buf{};
    EXPECT_EQ(c.read_some(buf, 5s), 0u);
    server.join();
  });
}

TEST_F(Tls, CloseWithoutCloseNotifyIsTruncation) {
  for (const bool allow : {false, true}) {
    balrog::run([&] {
      loopback_server srv;
      const auto sctx = server_context();
      auto server = balrog::spawn([&] {
        net::tls_stream s(srv.l.accept(5s), sctx);
        s.handshake(5s);
        s.write_all("last words", 5s);
        s.close();  // TCP FIN, no close_notify
      });
      const auto cctx = client_context({.allow_truncated_close = allow});
      net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
      EXPECT_EQ(c.read_exact(10, 5s), "last words");
      std::array<std::byte, 16> buf{};
      if (allow) {
        EXPECT_EQ(c.read_some(buf, 5s), 0u);
      } else {
        try {
          (void)c.read_some(buf, 5s);
          ADD_FAILURE() << "a truncated stream read as its end";
        } catch (const net::tls_error& e) {
          EXPECT_NE(std::string(e.what()).find("unexpected eof"), std::string::npos) << e.what();
        }
      }
      server.join();
    });
  }
}

TEST_F(Tls, ReadExactAtCloseNotifyIsEndOfStream) {
  balrog::run([] {
    loopback_server srv;
    const auto sctx = server_context();
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      s.handshake(5s);
      s.write_all("abc", 5s);
      s.shutdown(5s);
    });
    const auto cctx = client_context();
    net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
    try {
      (void)c.read_exact(10, 5s);
      ADD_FAILURE() << "read_exact returned";
    } catch (const balrog::end_of_stream& e) {
      EXPECT_NE(std::string(e.what()).find("after 3 of 10 bytes"), std::string::npos) << e.what();
    }
    server.join();
  });
}

TEST_F(Tls, NonTlsPeers) {
  balrog::run([] {
    loopback_server srv;
    auto server = balrog::spawn([&] {
      net::stream a = srv.l.accept(5s);  // answers like a plain HTTP server
      a.write_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      std::array<std::byte, 4096> buf{};
      (void)a.read_some(buf, 5s);
      net::stream b = srv.l.accept(5s);  // hangs up at once
      b.close();
    });
    const auto cctx = client_context();
    try {
      (void)net::tls_connect("localhost", srv.port(), cctx, 5s);
      ADD_FAILURE() << "a plain HTTP server passed the handshake";
    } catch (const net::tls_error& e) {
      EXPECT_NE(std::string(e.what()).find("wrong version number"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)net::tls_connect("localhost", srv.port(), cctx, 5s), balrog::end_of_stream);
    server.join();
  });
}

TEST_F(Tls, HandshakeDeadline) {
  balrog::run([] {
    loopback_server srv;
    auto server = balrog::spawn([&] {
      net::stream a = srv.l.accept(5s);  // never answers the ClientHello
      std::array<std::byte, 4096> buf{};
      (void)a.read_some(buf, 5s);
      balrog::this_fiber::sleep_for(300ms);
    });
    const auto cctx = client_context();
    net::stream s = net::connect(net::endpoint::loopback(srv.port()), 5s);
    net::tls_stream c(std::move(s), cctx, "localhost");
    const auto t0 = std::chrono::steady_clock::now();
    try {
      c.handshake(100ms);
      ADD_FAILURE() << "the handshake returned";
    } catch (const balrog::timeout_error& e) {
      EXPECT_NE(std::string(e.what()).find("tls_stream::handshake(fd "), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("deadline exceeded"), std::string::npos);
    }
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
    server.join();
  });
}

TEST_F(Tls, CloseWakesAReaderOnAnotherFiber) {
  balrog::run([] {
    loopback_server srv;
    const auto sctx = server_context();
    balrog::event done;
    auto server = balrog::spawn([&] {
      net::tls_stream s(srv.l.accept(5s), sctx);
      s.handshake(5s);
      done.wait();
    });
    const auto cctx = client_context();
    net::tls_stream c = net::tls_connect("localhost", srv.port(), cctx, 5s);
    auto reader = balrog::spawn([&] {
      std::array<std::byte, 16> buf{};
      try {
        (void)c.read_some(buf, 5s);
        ADD_FAILURE() << "read_some returned";
      } catch (const balrog::io_error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor) << e.what();
      }
    });
    balrog::this_fiber::sleep_for(20ms);
    c.close();
    reader.join();
    done.set();
    server.join();
  });
}

TEST_F(Tls, Misuse) {
  balrog::run([] {
    const auto sctx = server_context();
    const auto cctx = client_context();
    loopback_server srv;
    net::stream a = net::connect(net::endpoint::loopback(srv.port()), 5s);
    EXPECT_THROW(net::tls_stream(std::move(a), sctx, "localhost"), balrog::usage_error);
    net::stream b = net::connect(net::endpoint::loopback(srv.port()), 5s);
    EXPECT_THROW(net::tls_stream(std::move(b), cctx), balrog::usage_error);
    net::stream c = net::connect(net::endpoint::loopback(srv.port()), 5s);
    EXPECT_THROW(net::tls_stream(std::move(c), cctx, ""), balrog::usage_error);
    EXPECT_THROW(net::tls_context::server({}), balrog::usage_error);
    EXPECT_THROW(net::tls_context::server({.certificate_chain_file = "/nonexistent.pem",
                                           .private_key_file = "/nonexistent.key"}),
                 net::tls_error);
    EXPECT_THROW(net::tls_context::client({.alpn = {""}}), balrog::usage_error);
    net::tls_stream empty;
    std::array<std::byte, 4> buf{};
    EXPECT_THROW((void)empty.read_some(buf), balrog::usage_error);
  });
}

}  // namespace
