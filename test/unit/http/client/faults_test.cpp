// What goes wrong, and what the client makes of it: refused connections, unknown hosts, peers
// that reset or close mid-body, timeouts of every kind, deadline scopes, cancellation,
// oversized bodies. Each ends in the typed error error.hpp promises, and the shard keeps
// serving its other fibers.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <string>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/http/client.hpp"
#include "balrog/net.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/client_helpers.hpp"
#include "support/peers.hpp"

using namespace std::chrono_literals;
namespace http = balrog::http;
using balrog::test::fetch;
using balrog::test::python_peer;
using steady = std::chrono::steady_clock;

namespace {

class HttpFaults : public ::testing::Test {
 protected:
  void SetUp() override { fds_ = balrog::test::open_fds(); }
  // Connections to the peers may stay cached; anything beyond a handful is a leak.
  void TearDown() override { EXPECT_LE(balrog::test::open_fds(), fds_ + 8); }

 private:
  std::size_t fds_ = 0;
};

template <class E>
E expect_error(const std::string& method, const std::string& url, http::request_options o = {}) {
  try {
    fetch(method, url, std::move(o));
  } catch (const E& e) {
    return e;
  }
  ADD_FAILURE() << method << " " << url << " did not throw the expected error";
  return E("", 0, "");
}

// Whether the request's timeout is a connect timeout (http::connect_timeout) or another.
bool ends_in_connect_timeout(const std::string& method, const std::string& url,
                             http::request_options o) {
  try {
    fetch(method, url, std::move(o));
  } catch (const http::connect_timeout&) {
    return true;
  } catch (const http::timeout&) {
    return false;
  }
  ADD_FAILURE() << method << " " << url << " did not time out";
  return false;
}

TEST_F(HttpFaults, ConnectionRefused) {
  const std::uint16_t port = balrog::test::free_port();  // nobody listens there now
  balrog::run([&] {
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    const auto e = expect_error<http::connection_error>("GET", url);
    EXPECT_EQ(e.curl_code(), CURLE_COULDNT_CONNECT);
    EXPECT_EQ(e.url(), url);
    EXPECT_NE(std::string(e.what()).find("Failed to connect to 127.0.0.1 port"), std::string::npos)
        << e.what();
  });
}

TEST_F(HttpFaults, UnknownHost) {
  balrog::run([] {
    // A generous connect_timeout: a slow resolver must end in "not found", not a timeout.
    const auto e = expect_error<http::connection_error>("GET", "http://nosuch.invalid/",
                                                        {.connect_timeout = 60s});
    EXPECT_EQ(e.curl_code(), CURLE_COULDNT_RESOLVE_HOST);
    EXPECT_NE(std::string(e.what()).find("nosuch.invalid"), std::string::npos) << e.what();
  });
}

TEST_F(HttpFaults, PeerResetsOrClosesMidBody) {
  balrog::run([] {
    auto e = expect_error<http::connection_error>("GET", python_peer::url("/reset-mid-body"));
    EXPECT_TRUE(e.curl_code() == CURLE_RECV_ERROR || e.curl_code() == CURLE_PARTIAL_FILE)
        << e.what();
    e = expect_error<http::connection_error>("GET", python_peer::url("/close-mid-body"));
    EXPECT_EQ(e.curl_code(), CURLE_PARTIAL_FILE) << e.what();
    // The next request works (on a new connection).
    EXPECT_EQ(fetch("GET", python_peer::url("/status/200")).status(), 200);
  });
}

TEST_F(HttpFaults, RequestTimeout) {
  balrog::run([] {
    const auto t0 = steady::now();
    const auto e =
        expect_error<http::timeout>("GET", python_peer::url("/hang"), {.timeout = 200ms});
    EXPECT_EQ(e.curl_code(), CURLE_OPERATION_TIMEDOUT);
    // Connected, then no answer: a read timeout, not a connect timeout.
    EXPECT_FALSE(ends_in_connect_timeout("GET", python_peer::url("/hang"), {.timeout = 200ms}));
    EXPECT_GE(steady::now() - t0, 200ms);
    EXPECT_LT(steady::now() - t0, 10s);
    // A slow server within the limit is fine.
    EXPECT_EQ(fetch("GET", python_peer::url("/slow?ms=50"), {.timeout = 5s}).status(), 200);
  });
}

TEST_F(HttpFaults, ConnectTimeout) {
  // A listener whose queue is full: the kernel drops further SYNs, the connect hangs.
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(l, 0), 0);
  ASSERT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len), 0);
  int fillers[4];
  for (int& f : fillers) {
    f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  balrog::run([&] {
    const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
    const auto t0 = steady::now();
    // The kind says "connect phase", not libcurl's message: that varies with which of its checks
    // saw the time run out first ("Failed to connect ... after 300 ms" or "Connection timeout
    // after 300 ms"), and the message alone once made requests' ConnectTimeout a ReadTimeout.
    const auto e = expect_error<http::connect_timeout>("GET", url, {.connect_timeout = 300ms});
    EXPECT_EQ(e.curl_code(), CURLE_OPERATION_TIMEDOUT);
    EXPECT_GE(steady::now() - t0, 300ms);
  });
  for (int f : fillers) ::close(f);
  ::close(l);
}

TEST_F(HttpFaults, IdleTimeoutCatchesAStalledBody) {
  balrog::run([] {
    // Two chunks three seconds apart; one second of silence is enough.
    const auto t0 = steady::now();
    const auto e = expect_error<http::timeout>(
        "GET", python_peer::url("/chunked/1000?pieces=2&ms=3000"), {.idle_timeout = 300ms});
    EXPECT_EQ(e.curl_code(), CURLE_OPERATION_TIMEDOUT);
    EXPECT_NE(std::string(e.what()).find("idle_timeout"), std::string::npos) << e.what();
    EXPECT_GE(steady::now() - t0, 300ms);
    EXPECT_LT(steady::now() - t0, 2900ms);  // before the second piece would have come
    // A body that keeps coming is never idle, however long it takes.
    EXPECT_EQ(
        fetch("GET", python_peer::url("/chunked/1000?pieces=10&ms=100"), {.idle_timeout = 300ms})
            .text()
            .size(),
        1000u);
  });
}

TEST_F(HttpFaults, DeadlineScopeEndsTheRequest) {
  balrog::run([] {
    const auto t0 = steady::now();
    try {
      balrog::deadline_scope scope(200ms);
      fetch("GET", python_peer::url("/hang"));
      ADD_FAILURE() << "the request outlived its deadline_scope";
    } catch (const http::error& e) {
      ADD_FAILURE() << "an http::error instead of balrog::timeout_error: " << e.what();
    } catch (const balrog::timeout_error&) {
    }
    EXPECT_GE(steady::now() - t0, 200ms);
    EXPECT_LT(steady::now() - t0, 10s);
    EXPECT_EQ(fetch("GET", python_peer::url("/status/200")).status(), 200);
  });
}

TEST_F(HttpFaults, CancellationEndsTheRequestAndOthersGoOn) {
  balrog::run([] {
    std::atomic<int> done{0};
    auto hung = balrog::spawn([] { fetch("GET", python_peer::url("/hang")); });
    auto others = balrog::spawn([&] {
      for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(fetch("GET", python_peer::url("/slow?ms=20")).status(), 200);
        ++done;
      }
    });
    balrog::this_fiber::sleep_for(100ms);
    hung.cancel();
    EXPECT_THROW(hung.join(), balrog::cancelled);
    others.join();
    EXPECT_EQ(done.load(), 5);
  });
}

TEST_F(HttpFaults, OversizedBodies) {
  balrog::run([] {
    // Announced by Content-Length: refused before the body.
    auto e = expect_error<http::body_too_large>("GET", python_peer::url("/bytes/200000"),
                                                {.max_response_bytes = 100000});
    EXPECT_NE(std::string(e.what()).find("larger than max_response_bytes"), std::string::npos)
        << e.what();
    // Chunked: stopped when the limit is passed.
    e = expect_error<http::body_too_large>("GET", python_peer::url("/chunked/200000?pieces=20"),
                                           {.max_response_bytes = 100000});
    EXPECT_NE(std::string(e.what()).find("larger than max_response_bytes"), std::string::npos)
        << e.what();
    // Exactly at the limit is fine; 0 is no limit.
    EXPECT_EQ(fetch("GET", python_peer::url("/bytes/100000"), {.max_response_bytes = 100000})
                  .text()
                  .size(),
              100000u);
    EXPECT_EQ(
        fetch("GET", python_peer::url("/chunked/300000"), {.max_response_bytes = 0}).text().size(),
        300000u);
  });
}

TEST_F(HttpFaults, MalformedResponse) {
  // A server that answers with garbage.
  balrog::run([] {
    auto l = balrog::net::listen(balrog::net::endpoint::loopback(0));
    const std::uint16_t port = l.local_endpoint().port();
    auto server = balrog::spawn([&] {
      balrog::net::stream s = l.accept(5s);
      std::array<std::byte, 4096> buf{};
      (void)s.read_some(buf, 5s);
      s.write_all("HTTP/1.1 abc what\r\nno colon here\r\n\r\n");
      s.close();
    });
    const auto e = expect_error<http::connection_error>(
        "GET", "http://127.0.0.1:" + std::to_string(port) + "/");
    EXPECT_TRUE(e.curl_code() == CURLE_WEIRD_SERVER_REPLY ||
                e.curl_code() == CURLE_UNSUPPORTED_PROTOCOL)
        << e.what();
    server.join();
  });
}

}  // namespace
