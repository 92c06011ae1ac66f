// The client against nginx (support/peers.hpp starts it with a generated config): connection
// reuse, TLS with the test's CA (and without it: verification fails), HTTP/2 chosen by ALPN and
// concurrent requests multiplexed on one connection, the per-host connection limit, a TLS
// handshake with a server that does not speak TLS.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "balrog/fiber.hpp"
#include "balrog/http/client.hpp"
#include "balrog/run.hpp"
#include "support/client_helpers.hpp"
#include "support/peers.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
namespace http = balrog::http;
using balrog::test::fetch;
using balrog::test::nginx_peer;
using balrog::test::test_pki;

namespace {

http::tls_options trust_test_ca() { return {.ca_file = test_pki::get().ca_file}; }

// nginx's /conn answers "<connection serial> <requests on it>".
std::string connection_of(const http::response& r) {
  return r.text().substr(0, r.text().find(' '));
}

TEST(HttpNginx, KeepAliveReusesOneConnection) {
  balrog::run([] {
    std::set<std::string> connections;
    for (int i = 0; i < 20; ++i) {
      http::response r = fetch("GET", nginx_peer::http_url("/conn"));
      EXPECT_EQ(r.status(), 200);
      connections.insert(connection_of(r));
    }
    EXPECT_EQ(connections.size(), 1u);
    EXPECT_EQ(fetch("GET", nginx_peer::http_url("/hello")).text(), "hello\n");
  });
}

TEST(HttpNginx, StaticFiles) {
  balrog::run([] {
    http::response r = fetch("GET", nginx_peer::http_url("/files/big.bin"));
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.text().size(), 1u << 20);
    EXPECT_EQ(r.text().find_first_not_of('x'), std::string::npos);
    EXPECT_EQ(fetch("GET", nginx_peer::http_url("/files/nope")).status(), 404);
  });
}

TEST(HttpNginx, HttpsWithTheTestCaSpeaksHttp2) {
  balrog::run([] {
    http::session s({.tls = trust_test_ca()});
    http::response r = balrog::await(s.get(nginx_peer::https_url("/hello")));
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.text(), "hello\n");
    EXPECT_EQ(r.http_version(), "2");
    EXPECT_EQ(r.reason(), "");  // HTTP/2 has none
    r = balrog::await(s.get(nginx_peer::https_url("/echo-method")));
    EXPECT_EQ(r.text(), "GET HTTP/2.0\n");
    // The same server in HTTP/1.1 when asked.
    r = fetch(s, "GET", nginx_peer::https_url("/echo-method"),
              {.version = http::http_version::http1_1});
    EXPECT_EQ(r.text(), "GET HTTP/1.1\n");
  });
}

TEST(HttpNginx, VerificationFailsWithoutTheTestCa) {
  balrog::run([] {
    try {
      fetch("GET", nginx_peer::https_url("/hello"));  // the system store only
      ADD_FAILURE() << "verified a certificate of an unknown CA";
    } catch (const http::tls_error& e) {
      EXPECT_EQ(e.curl_code(), CURLE_PEER_FAILED_VERIFICATION) << e.what();
      EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
    }
    // Wrong CA file.
    EXPECT_THROW(fetch("GET", nginx_peer::https_url("/hello"),
                       {.tls = http::tls_options{.ca_file = test_pki::get().other_ca_file}}),
                 http::tls_error);
    // verify = false accepts it.
    EXPECT_EQ(
        fetch("GET", nginx_peer::https_url("/hello"), {.tls = http::tls_options{.verify = false}})
            .status(),
        200);
  });
}

TEST(HttpNginx, TlsHandshakeWithAPlainHttpServerFails) {
  balrog::run([] {
    const std::string url = "https://localhost:" + std::to_string(nginx_peer::http_port()) + "/";
    try {
      fetch("GET", url, {.tls = trust_test_ca()});
      ADD_FAILURE() << "a TLS handshake with a plain HTTP server succeeded";
    } catch (const http::tls_error& e) {
      EXPECT_EQ(e.curl_code(), CURLE_SSL_CONNECT_ERROR) << e.what();
    }
  });
}

TEST(HttpNginx, Http2MultiplexesConcurrentRequests) {
  balrog::run([] {
    http::session s({.tls = trust_test_ca()});
    constexpr int n = 64;
    std::vector<std::string> connections(n);
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < n; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        http::response r = balrog::await(s.get(nginx_peer::https_url("/conn")));
        EXPECT_EQ(r.http_version(), "2");
        connections[static_cast<std::size_t>(i)] = connection_of(r);
      }));
    }
    for (auto& f : fibers) f.join();
    // One TLS connection carried them all (libcurl waits for it rather than open more).
    EXPECT_EQ(std::set<std::string>(connections.begin(), connections.end()).size(), 1u);
  });
}

TEST(HttpNginx, PerHostConnectionLimit) {
  const http::client_options before = http::current_client_options();
  http::configure({.max_connections_per_host = 2});
  balrog::run([] {
    constexpr int n = 24;
    std::vector<std::string> connections(n);
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < n; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        http::response r =
            fetch("GET", nginx_peer::http_url("/conn"), {.version = http::http_version::http1_1});
        EXPECT_EQ(r.status(), 200);
        connections[static_cast<std::size_t>(i)] = connection_of(r);
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_LE(std::set<std::string>(connections.begin(), connections.end()).size(), 2u);
  });
  http::configure(before);
}

}  // namespace
