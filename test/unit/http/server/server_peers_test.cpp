// The server on loopback against real peers: curl, Python's http.client and requests, and raw
// sockets for the faults (pipelining, slowloris, oversize and malformed requests, resets,
// idle and connection limits, shutdown with requests in flight). Behaviour only: the machine
// is shared, so time bounds are generous and only catch hangs.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <csignal>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "balrog/balrog.hpp"
#include "balrog/debug.hpp"
#include "balrog/http/client.hpp"
#include "balrog/http/generated/client_blocking.hpp"
#include "balrog/http/server.hpp"
#include "balrog/runtime.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace hs = balrog::http::server;
namespace net = balrog::net;
using balrog::http::test::peer;
using balrog::http::test::peer_script;
using balrog::http::test::python;
using namespace std::chrono_literals;

namespace {

std::string base_url(const hs::server& srv) {
  return "http://127.0.0.1:" + std::to_string(srv.local_endpoint().port());
}

hs::router demo_router() {
  hs::router r;
  r.get("/hello", [](hs::request&) { return hs::response::text("hello\n"); });
  r.post("/size", [](hs::request& req) {
    std::uint64_t sum = 0;
    for (const char c : req.body()) sum = sum * 31 + static_cast<unsigned char>(c);
    return hs::response::text(std::to_string(req.body().size()) + " " + std::to_string(sum) + "\n");
  });
  r.post("/json", [](hs::request& req) {
    boost::json::object o = req.json().as_object();
    o["n"] = o["n"].as_int64() + 1;
    return hs::response::json(o);
  });
  r.get("/stream", [](hs::request&) {
    return hs::response::stream(
        [](hs::chunk_writer& out) {
          for (int i = 0; i < 3; ++i) {
            out.write("part " + std::to_string(i) + "\n");
            balrog::this_fiber::sleep_for(20ms);
          }
        },
        "text/plain");
  });
  r.get("/big", [](hs::request&) { return hs::response::text(std::string(8 << 20, 'z')); });
  return r;
}

// The checksum /size computes, for the test's side.
std::string size_line(const std::string& body) {
  std::uint64_t sum = 0;
  for (const char c : body) sum = sum * 31 + static_cast<unsigned char>(c);
  return std::to_string(body.size()) + " " + std::to_string(sum) + "\n";
}

std::string read_all(net::stream& s, balrog::deadline until = 10s) {
  std::string out;
  std::array<std::byte, 16384> buf{};
  for (;;) {
    std::size_t n = 0;
    try {
      n = s.read_some(buf, until);
    } catch (const balrog::io_error&) {
      break;  // a reset ends it as well as a FIN
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  return out;
}

net::stream dial(const hs::server& srv) { return net::connect(srv.local_endpoint(), 5s); }

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(HttpServerPeers, CurlReusesOneKeptAliveConnection) {
  balrog::run([] {
    hs::server srv(demo_router());
    srv.listen(net::endpoint::loopback(0));
    const auto r = peer({"curl", "-sS", base_url(srv) + "/hello", base_url(srv) + "/hello"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "hello\nhello\n");
    EXPECT_EQ(srv.accepted_connections(), 1u);
    srv.shutdown();
  });
}

TEST(HttpServerPeers, CurlUploadsChunkedAndWithExpectContinue) {
  balrog::run([] {
    hs::server srv(demo_router(), {.max_body_bytes = 4 << 20});
    srv.listen(net::endpoint::loopback(0));
    std::string body;
    for (int i = 0; i < 300000; ++i) body += static_cast<char>('a' + i % 26);
    auto r = peer({"curl", "-sS", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-",
                   base_url(srv) + "/size"},
                  60s, body);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, size_line(body));
    r = peer({"curl", "-sS", "-v", "-H", "Expect: 100-continue", "--data-binary", "@-",
              base_url(srv) + "/size"},
             60s, body);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("HTTP/1.1 100 Continue"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(size_line(body)), std::string::npos);
    srv.shutdown();
  });
}

TEST(HttpServerPeers, CurlGets413ForAnOversizeBodyBeforeSendingIt) {
  balrog::run([] {
    hs::server srv(demo_router(), {.max_body_bytes = 1000});
    srv.listen(net::endpoint::loopback(0));
    const auto r = peer({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                         "Expect: 100-continue", "--data-binary", "@-", base_url(srv) + "/size"},
                        60s, std::string(2 << 20, 'b'));
    EXPECT_EQ(r.output, "413") << r.output;
    srv.shutdown();
  });
}

TEST(HttpServerPeers, CurlReadsStreamsAndFileRanges) {
  balrog::run([] {
    char dir[] = "/tmp/balrog-peers-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string file = std::string(dir) + "/f.txt";
    {
      std::FILE* f = std::fopen(file.c_str(), "w");
      std::fputs("0123456789", f);
      std::fclose(f);
    }
    hs::router r = demo_router();
    r.static_files("/files", dir);
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    auto res = peer({"curl", "-sS", "-N", base_url(srv) + "/stream"});
    EXPECT_EQ(res.output, "part 0\npart 1\npart 2\n");
    res = peer({"curl", "-sS", "-r", "3-5", base_url(srv) + "/files/f.txt"});
    EXPECT_EQ(res.output, "345");
    res = peer({"curl", "-sS", base_url(srv) + "/files/f.txt"});
    EXPECT_EQ(res.output, "0123456789");
    srv.shutdown();
    std::remove(file.c_str());
    ::rmdir(dir);
  });
}

TEST(HttpServerPeers, PythonRequestsAndHttpClient) {
  balrog::run([] {
    hs::server srv(demo_router());
    srv.listen(net::endpoint::loopback(0));
    for (const char* scenario : {"requests_json", "http_client_head_and_10"}) {
      const auto r = peer({python, peer_script("http_client.py"), scenario, base_url(srv)});
      EXPECT_EQ(r.status, 0) << scenario << ": " << r.output;
      EXPECT_TRUE(r.output.ends_with("ok\n")) << r.output;
    }
    srv.shutdown();
  });
}

TEST(HttpServerPeers, PipelinedRequestsAreAnsweredInOrder) {
  balrog::run([] {
    hs::router r;
    r.get("/n/{n}", [](hs::request& req) {
      if (req.param("n") == "3") balrog::this_fiber::sleep_for(30ms);  // a slow one mid-way
      return hs::response::text("<" + std::string(req.param("n")) + ">");
    });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    net::stream s = dial(srv);
    std::string batch;
    for (int i = 0; i < 50; ++i) {
      batch += "GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n" +
               (i == 49 ? "Connection: close\r\n" : "") + "\r\n";
    }
    s.write_all(batch);
    const std::string all = read_all(s);
    std::size_t at = 0;
    for (int i = 0; i < 50; ++i) {
      const std::size_t next = all.find("<" + std::to_string(i) + ">", at);
      ASSERT_NE(next, std::string::npos) << "answer " << i << " missing or out of order";
      at = next;
    }
    srv.shutdown();
  });
}

TEST(HttpServerPeers, SlowlorisCostsAFiberUntilTheHeaderTimeout) {
  balrog::run([] {
    hs::server srv(demo_router(), {.header_timeout = 300ms});
    srv.listen(net::endpoint::loopback(0));
    std::vector<balrog::fiber<std::string>> slow;
    for (int i = 0; i < 20; ++i) {
      slow.push_back(balrog::spawn([&srv] {
        net::stream s = dial(srv);
        const std::string request = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        try {
          for (const char c : request + std::string(100, 'a')) {
            s.write_all(std::string_view(&c, 1));
            balrog::this_fiber::sleep_for(50ms);
          }
        } catch (const balrog::io_error&) {
          // the server gave up on us: expected
        }
        return read_all(s);
      }));
    }
    // Meanwhile, a normal client is served at once.
    const auto r = peer({"curl", "-sS", base_url(srv) + "/hello"});
    EXPECT_EQ(r.output, "hello\n");
    for (auto& f : slow) {
      const std::string answer = f.join();
      EXPECT_TRUE(answer.starts_with("HTTP/1.1 408 Request Timeout") || answer.empty()) << answer;
    }
    srv.shutdown();
  });
}

TEST(HttpServerPeers, OversizeAndMalformedRequestsAreRefusedAndTheServerGoesOn) {
  balrog::run([] {
    hs::server srv(demo_router(), {.max_header_bytes = 2048});
    srv.listen(net::endpoint::loopback(0));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n",
         "HTTP/1.1 431 "},
        {"GET /" + std::string(9000, 'u') + " HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 414 "},
        {"BLAH\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3"
         "\r\n\r\n",
         "HTTP/1.1 400 "},
    };
    for (const auto& [request, status] : cases) {
      net::stream s = dial(srv);
      s.write_all(request);
      const std::string answer = read_all(s);
      EXPECT_TRUE(answer.starts_with(status)) << request.substr(0, 60) << " -> " << answer;
    }
    const auto r = peer({"curl", "-sS", base_url(srv) + "/hello"});
    EXPECT_EQ(r.output, "hello\n");
    srv.shutdown();
  });
}

TEST(HttpServerPeers, ResetsMidRequestAndMidResponseLeaveTheServerServing) {
  balrog::run([] {
    hs::server srv(demo_router());
    srv.listen(net::endpoint::loopback(0));
    const auto reset = [](net::stream& s) {
      const linger hard{1, 0};  // close() sends RST
      ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      s.close();
    };
    for (int i = 0; i < 5; ++i) {
      net::stream a = dial(srv);
      a.write_all("POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
      balrog::this_fiber::sleep_for(10ms);
      reset(a);
      net::stream b = dial(srv);
      b.write_all("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
      std::array<std::byte, 1000> some{};
      (void)b.read_some(some, 5s);
      reset(b);
    }
    const auto r = peer({"curl", "-sS", base_url(srv) + "/hello"});
    EXPECT_EQ(r.output, "hello\n");
    // Every connection is gone by itself (resets end them at their next read or write).
    for (int i = 0; i < 500 && srv.open_connections() != 0; ++i) {
      balrog::this_fiber::sleep_for(10ms);
    }
    EXPECT_EQ(srv.open_connections(), 0u);
    srv.shutdown();
  });
}

TEST(HttpServerPeers, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  balrog::run([] {
    hs::server srv(demo_router(), {.idle_timeout = 200ms, .idle_fiber_linger = 50ms});
    srv.listen(net::endpoint::loopback(0));
    net::stream s = dial(srv);
    s.write_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string answer = read_all(s, 10s);  // ends when the server closes: idle
    EXPECT_TRUE(answer.ends_with("hello\n")) << answer;
    EXPECT_EQ(count(answer, "HTTP/1.1 200"), 1u);
    srv.shutdown();
  });
}

TEST(HttpServerPeers, IdleConnectionsGiveTheirFibersBackAndStayServed) {
  balrog::run([] {
    hs::server srv(demo_router(), {.idle_fiber_linger = 0ms});
    srv.listen(net::endpoint::loopback(0));
    std::vector<net::stream> clients;
    std::array<std::byte, 4096> buf{};
    for (int i = 0; i < 50; ++i) {
      clients.push_back(dial(srv));
      clients.back().write_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
      (void)clients.back().read_some(buf, 5s);
    }
    balrog::this_fiber::sleep_for(50ms);
    std::size_t serving = 0;
    for (const auto& f : balrog::list_fibers()) {
      if (f.name == "http-connection") ++serving;
    }
    EXPECT_EQ(serving, 0u) << "idle keep-alive connections still hold fibers";
    EXPECT_EQ(srv.open_connections(), 50u);
    for (auto& c : clients) {
      c.write_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
      const std::size_t n = c.read_some(buf, 5s);
      EXPECT_TRUE(std::string_view(reinterpret_cast<const char*>(buf.data()), n)
                      .starts_with("HTTP/1.1 200 OK"));
    }
    srv.shutdown();
  });
}

TEST(HttpServerPeers, AtTheConnectionLimitNewClientsWaitForAFreeSlot) {
  balrog::run([] {
    hs::server srv(demo_router(), {.max_connections = 2});
    srv.listen(net::endpoint::loopback(0));
    std::array<std::byte, 4096> buf{};
    net::stream a = dial(srv);
    net::stream b = dial(srv);
    for (auto* s : {&a, &b}) {
      s->write_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
      (void)s->read_some(buf, 5s);
    }
    net::stream c = dial(srv);  // the kernel completes it; the server does not take it yet
    c.write_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THROW((void)c.read_some(buf, 300ms), balrog::timeout_error);
    EXPECT_EQ(srv.open_connections(), 2u);
    a.close();
    const std::size_t n = c.read_some(buf, 10s);
    EXPECT_TRUE(std::string_view(reinterpret_cast<const char*>(buf.data()), n)
                    .starts_with("HTTP/1.1 200 OK"));
    srv.shutdown();
  });
}

TEST(HttpServerPeers, ShutdownAnswersRequestsInFlightAndClosesIdleOnes) {
  balrog::run([] {
    hs::router r = demo_router();
    balrog::event entered;
    r.get("/slow-signal", [&entered](hs::request&) {
      entered.set();
      balrog::this_fiber::sleep_for(400ms);
      return hs::response::text("slow done\n");
    });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    const std::string url = base_url(srv);
    const net::endpoint at = srv.local_endpoint();
    net::stream idle = dial(srv);
    idle.write_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    std::array<std::byte, 4096> buf{};
    (void)idle.read_some(buf, 5s);
    auto slow = balrog::spawn([url] {
      return peer({python, peer_script("http_client.py"), "slow_request", url});
    });
    entered.wait();  // the request is in its handler now
    srv.shutdown(10s);
    const auto r2 = slow.join();
    EXPECT_EQ(r2.status, 0) << r2.output;
    EXPECT_EQ(read_all(idle, 5s), "") << "the idle connection was not closed";
    EXPECT_THROW(net::connect(at, 2s), balrog::io_error);
    EXPECT_EQ(srv.open_connections(), 0u);
  });
}

TEST(HttpServerPeers, ShutdownCancelsWhatOutlivesTheGrace) {
  balrog::run([] {
    hs::router r;
    std::atomic<bool> cancelled{false};
    balrog::event entered;
    r.get("/forever", [&](hs::request&) {
      entered.set();
      try {
        balrog::this_fiber::sleep_for(60s);
      } catch (const balrog::cancelled&) {
        cancelled = true;
        throw;
      }
      return hs::response::text("never");
    });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    net::stream s = dial(srv);
    s.write_all("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
    entered.wait();
    const auto started = balrog::clock::now();
    srv.shutdown(200ms);
    EXPECT_LT(balrog::clock::now() - started, 30s);
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(read_all(s, 5s), "");
  });
}

TEST(HttpServerPeers, ShardsEachAcceptOnTheirOwnListener) {
  balrog::runtime rt({.threads = 2});
  rt.run([] {
    hs::router r;
    std::array<std::atomic<int>, 2> per_shard{};
    r.get("/where", [&](hs::request&) {
      per_shard[balrog::this_shard::index()]++;
      return hs::response::text(std::to_string(balrog::this_shard::index()));
    });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    std::vector<balrog::fiber<void>> clients;
    for (int i = 0; i < 40; ++i) {
      clients.push_back(balrog::spawn([&srv] {
        net::stream s = dial(srv);
        s.write_all("GET /where HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        EXPECT_TRUE(read_all(s).starts_with("HTTP/1.1 200 OK"));
      }));
    }
    for (auto& c : clients) c.join();
    EXPECT_GT(per_shard[0].load(), 0);
    EXPECT_GT(per_shard[1].load(), 0);
    srv.shutdown();
  });
}

// HTTPS (options::tls) against balrog's client (libcurl, verifying the chain and the IP
// address against the test's CA) and curl: keep-alive, a body up, 8 MiB down, a file.
TEST(HttpServerPeers, HttpsServesBalrogsClientAndCurl) {
  balrog::run([] {
    const auto& pki = balrog::test::test_pki::get();
    hs::router r = demo_router();
    r.static_files("/files", pki.dir);
    hs::server srv(std::move(r),
                   {.tls = net::tls_server_options{.certificate_chain_file = pki.server_cert_file,
                                                   .private_key_file = pki.server_key_file}});
    srv.listen(net::endpoint::loopback(0));
    const std::string url = "https://127.0.0.1:" + std::to_string(srv.local_endpoint().port());

    balrog::http::session client({.tls = {.ca_file = pki.ca_file}});
    const balrog::http::response hello = balrog::http::blocking::get(client, url + "/hello");
    EXPECT_EQ(hello.status(), 200);
    EXPECT_EQ(hello.text(), "hello\n");
    const std::string body(300 * 1024, 'b');
    const balrog::http::response sized =
        balrog::http::blocking::post(client, url + "/size", {.data = body});
    EXPECT_EQ(sized.text(), size_line(body));
    const balrog::http::response pem =
        balrog::http::blocking::get(client, url + "/files/server.pem");
    EXPECT_EQ(pem.status(), 200);
    EXPECT_EQ(pem.text(), pki.server_cert_pem);

    const auto twice =
        peer({"curl", "-sS", "--cacert", pki.ca_file, url + "/hello", url + "/hello"});
    EXPECT_EQ(twice.output, "hello\nhello\n");
    const auto big = peer({"curl", "-sS", "--cacert", pki.ca_file, "-o", "/dev/null", "-w",
                           "%{size_download} %{num_connects}", url + "/big"});
    EXPECT_EQ(big.output, std::to_string(8 << 20) + " 1");
    srv.shutdown();
  });
}

// A client that speaks plain HTTP to the HTTPS port, one that does not trust the certificate,
// and one that never starts the handshake (dropped at header_timeout): each costs only its
// own connection, and the server goes on.
TEST(HttpServerPeers, HttpsHandshakeFailuresAreDroppedAndTheServerGoesOn) {
  balrog::run([] {
    const auto& pki = balrog::test::test_pki::get();
    hs::server srv(demo_router(),
                   {.header_timeout = 300ms,
                    .tls = net::tls_server_options{.certificate_chain_file = pki.server_cert_file,
                                                   .private_key_file = pki.server_key_file}});
    srv.listen(net::endpoint::loopback(0));
    const std::string url = "https://127.0.0.1:" + std::to_string(srv.local_endpoint().port());
    {
      net::stream s = dial(srv);
      s.write_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
      const std::string answer = read_all(s);
      EXPECT_FALSE(answer.starts_with("HTTP/")) << answer;
    }
    const auto untrusted = peer({"curl", "-sS", url + "/hello"});
    EXPECT_EQ(untrusted.status, 60) << untrusted.output;  // CURLE_PEER_FAILED_VERIFICATION
    EXPECT_THROW((void)balrog::http::blocking::get(url + "/hello"), balrog::http::tls_error);
    {
      net::stream s = dial(srv);
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_EQ(read_all(s), "");  // the server gave up on the handshake and closed
      EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    }
    const auto r = peer({"curl", "-sS", "--cacert", pki.ca_file, url + "/hello"});
    EXPECT_EQ(r.output, "hello\n");
    srv.shutdown();
  });
}

TEST(HttpServerPeers, SyncModeServesTheSameRouterWithThreads) {
  // No runtime: listen() on a plain thread serves with a thread per connection.
  hs::server srv(demo_router());
  srv.listen(net::endpoint::loopback(0));
  auto r = balrog::http::test::run_process(
      {"curl", "-sS", base_url(srv) + "/hello", base_url(srv) + "/stream"}, 60s);
  EXPECT_EQ(r.output, "hello\npart 0\npart 1\npart 2\n");
  r = balrog::http::test::run_process(
      {python, peer_script("http_client.py"), "requests_json", base_url(srv)}, 60s);
  EXPECT_EQ(r.status, 0) << r.output;
  net::stream idle = net::connect(srv.local_endpoint(), 5s);
  idle.write_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  std::array<std::byte, 4096> buf{};
  (void)idle.read_some(buf, 5s);
  srv.shutdown(5s);  // the idle connection's thread ends at once
  EXPECT_EQ(read_all(idle, 5s), "");
  EXPECT_EQ(srv.open_connections(), 0u);
}

TEST(HttpServerPeers, ASignalStartsTheShutdown) {
  balrog::run([] {
    hs::server srv(demo_router());
    srv.listen(net::endpoint::loopback(0));
    srv.shutdown_on_signals({SIGUSR2});
    balrog::spawn([] {
      balrog::this_fiber::sleep_for(50ms);
      std::raise(SIGUSR2);
    }).detach();
    srv.wait();
    EXPECT_THROW(net::connect(srv.local_endpoint(), 2s), balrog::io_error);
  });
}

}  // namespace
