// WebSocket on loopback: Python's websockets as client (against the server's routes) and as
// server (against balrog's client); the hub, closes from other fibers, shutdown, idle and
// ping timeouts, size limits, compression, protocol violations, sync mode.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "balrog/balrog.hpp"
#include "balrog/http/server.hpp"
#include "balrog/http/websocket.hpp"
#include "balrog/runtime.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace hs = balrog::http::server;
namespace ws = balrog::http::websocket;
namespace net = balrog::net;
using balrog::http::test::background_process;
using balrog::http::test::peer;
using balrog::http::test::peer_script;
using balrog::http::test::python;
using namespace std::chrono_literals;

namespace {

std::string ws_url(const hs::server& srv, const std::string& path) {
  return "ws://127.0.0.1:" + std::to_string(srv.local_endpoint().port()) + path;
}

void echo_until_closed(ws::connection& c) {
  while (auto m = c.receive()) {
    if (m->is_text()) {
      c.send(m->data);
    } else {
      c.send_binary(m->data);
    }
  }
}

balrog::http::test::process_result client(const std::string& scenario, const std::string& url) {
  return peer({python, peer_script("ws_client.py"), scenario, url});
}

TEST(WebSocket, PythonClientEchoesTextBinaryFragmentsLargeMessagesAndPings) {
  balrog::run([] {
    hs::router r;
    r.websocket("/echo", [](hs::request&, ws::connection& c) { echo_until_closed(c); });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    const auto res = client("echo", ws_url(srv, "/echo"));
    EXPECT_EQ(res.status, 0) << res.output;
    EXPECT_NE(res.output.find("closed 1000"), std::string::npos) << res.output;
    srv.shutdown();
  });
}

TEST(WebSocket, PermessageDeflateIsNegotiatedWhenEnabled) {
  balrog::run([] {
    hs::router r;
    std::atomic<bool> compressed{false};
    r.websocket("/z",
                [&](hs::request&, ws::connection& c) {
                  compressed = c.compressed();
                  echo_until_closed(c);
                },
                {.permessage_deflate = true});
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    const auto res = client("compressed", ws_url(srv, "/z"));
    EXPECT_EQ(res.status, 0) << res.output;
    EXPECT_NE(res.output.find("permessage-deflate"), std::string::npos) << res.output;
    EXPECT_TRUE(compressed);
    srv.shutdown();
  });
}

TEST(WebSocket, TheServerClosesWith1000WhenTheHandlerReturns) {
  balrog::run([] {
    hs::router r;
    r.websocket("/bye", [](hs::request&, ws::connection& c) { c.send("one message"); });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    const auto res = client("server_closes", ws_url(srv, "/bye"));
    EXPECT_EQ(res.status, 0) << res.output;
    EXPECT_NE(res.output.find("close 1000"), std::string::npos) << res.output;
    srv.shutdown();
  });
}

TEST(WebSocket, AMessageOverTheLimitFailsTheConnectionWith1009) {
  balrog::run([] {
    hs::router r;
    std::atomic<std::uint16_t> code{0};
    r.websocket("/small",
                [&](hs::request&, ws::connection& c) {
                  try {
                    echo_until_closed(c);
                  } catch (const ws::protocol_error& e) {
                    code = e.close_code();
                  }
                },
                {.max_message_bytes = 1024});
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    const auto res = client("too_big", ws_url(srv, "/small"));
    EXPECT_EQ(res.status, 0) << res.output;
    EXPECT_NE(res.output.find("close 1009"), std::string::npos) << res.output;
    EXPECT_EQ(code.load(), 1009);
    srv.shutdown();
  });
}

TEST(WebSocket, PingsKeepAQuietPeerAliveAndIdleTimeoutDropsASilentOne) {
  balrog::run([] {
    hs::router r;
    std::atomic<int> timeouts{0};
    r.websocket("/keep",
                [&](hs::request&, ws::connection& c) {
                  try {
                    echo_until_closed(c);
                  } catch (const balrog::timeout_error&) {
                    ++timeouts;
                  }
                },
                {.ping_interval = 100ms, .idle_timeout = 500ms});
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    // Python answers pings by itself: quiet for a second, still connected.
    const auto res = client("quiet_then_talk", ws_url(srv, "/keep"));
    EXPECT_EQ(res.status, 0) << res.output;
    EXPECT_EQ(timeouts.load(), 0);
    // balrog's client answers pings only inside receive(): one that never receives is silent.
    ws::connection mute = ws::connect(ws_url(srv, "/keep"));
    balrog::this_fiber::sleep_for(1500ms);
    EXPECT_EQ(timeouts.load(), 1);
    EXPECT_ANY_THROW({
      while (mute.receive()) {
      }
      throw std::runtime_error("closed cleanly");  // a drop is not a close handshake
    });
    srv.shutdown();
  });
}

TEST(WebSocket, AReceiveDeadlineLeavesTheConnectionOpen) {
  balrog::run([] {
    hs::router r;
    std::atomic<int> deadlines{0};
    r.websocket("/patient", [&](hs::request&, ws::connection& c) {
      for (;;) {
        try {
          auto m = c.receive(100ms);
          if (!m) return;
          c.send(m->data);
        } catch (const balrog::timeout_error&) {
          ++deadlines;  // nothing yet: the connection stays open
        }
      }
    });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    const auto res = client("slow_talk", ws_url(srv, "/patient"));
    EXPECT_EQ(res.status, 0) << res.output;
    EXPECT_GE(deadlines.load(), 2);
    srv.shutdown();
  });
}

TEST(WebSocket, TheHubSendsFromAnyShardInOrder) {
  balrog::runtime rt({.threads = 2});
  rt.run([] {
    ws::hub customers;
    hs::router r;
    r.websocket("/orders/{customer}", [&](hs::request& req, ws::connection& c) {
      auto membership = customers.add(std::string(req.param("customer")), c);
      while (c.receive()) {
      }
    });
    r.post("/notify/{customer}", [&](hs::request& req) {
      const std::size_t n = customers.send(req.param("customer"), req.body());
      return hs::response::text(std::to_string(n));
    });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    background_process listener(
        {python, peer_script("ws_client.py"), "listen", ws_url(srv, "/orders/alice")});
    EXPECT_EQ(balrog::offload([&] { return listener.read_line(); }), "ready");
    while (customers.count("alice") == 0) balrog::this_fiber::sleep_for(5ms);
    // From a fiber on each shard (one of them is not the connection's), then through HTTP.
    for (std::size_t shard = 0; shard < 2; ++shard) {
      balrog::spawn_on(shard, [&, shard] {
        for (int i = 0; i < 5; ++i) {
          EXPECT_EQ(customers.send("alice", "s" + std::to_string(shard) + "-" + std::to_string(i)),
                    1u);
        }
      }).join();
    }
    // From a plain thread (no runtime there): handed to the connection's shard as well.
    EXPECT_EQ(balrog::offload([&] { return customers.send("alice", "from a plain thread"); }), 1u);
    const auto curl =
        peer({"curl", "-sS", "--data-binary", "Order #7 will be delivered in 20 minutes.",
              "http://127.0.0.1:" + std::to_string(srv.local_endpoint().port()) + "/notify/alice"});
    EXPECT_EQ(curl.output, "1");
    EXPECT_EQ(customers.send("bob", "nobody"), 0u);
    std::vector<std::string> expected;
    for (int s = 0; s < 2; ++s) {
      for (int i = 0; i < 5; ++i) {
        expected.push_back("got s" + std::to_string(s) + "-" + std::to_string(i));
      }
    }
    expected.emplace_back("got from a plain thread");
    expected.emplace_back("got Order #7 will be delivered in 20 minutes.");
    for (const auto& line : expected) {
      EXPECT_EQ(balrog::offload([&] { return listener.read_line(); }), line);
    }
    EXPECT_EQ(customers.close("alice", 4000, "bye"), 1u);
    EXPECT_EQ(balrog::offload([&] { return listener.read_line(); }), "close 4000");
    srv.shutdown();
  });
}

TEST(WebSocket, ShutdownClosesOpenWebSocketsWith1001) {
  balrog::run([] {
    hs::router r;
    r.websocket("/wait", [](hs::request&, ws::connection& c) { echo_until_closed(c); });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    background_process listener(
        {python, peer_script("ws_client.py"), "listen", ws_url(srv, "/wait")});
    EXPECT_EQ(balrog::offload([&] { return listener.read_line(); }), "ready");
    srv.shutdown(5s);
    EXPECT_EQ(balrog::offload([&] { return listener.read_line(); }), "close 1001");
  });
}

TEST(WebSocket, BalrogClientAgainstPythonServer) {
  balrog::run([] {
    background_process server({python, peer_script("ws_server.py"), "echo"});
    const std::string port_line = balrog::offload([&] { return server.read_line(); });
    ASSERT_TRUE(port_line.starts_with("port ")) << port_line;
    const std::string url = "ws://127.0.0.1:" + port_line.substr(5) + "/x";
    ws::connection c = ws::connect(url, {.permessage_deflate = true});
    EXPECT_TRUE(c.compressed());
    for (int i = 0; i < 20; ++i) {
      c.send("text " + std::to_string(i));
      auto m = c.receive(10s);
      ASSERT_TRUE(m);
      EXPECT_TRUE(m->is_text());
      EXPECT_EQ(m->data, "text " + std::to_string(i));
      balrog::this_fiber::sleep_for(20ms);  // the server pings every 50 ms meanwhile
    }
    const std::string binary(100000, '\x07');
    c.send_binary(binary);
    auto m = c.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->is_text());
    EXPECT_EQ(m->data, binary);
    c.close(ws::close_codes::normal, "client done");
    EXPECT_FALSE(c.is_open());
    EXPECT_EQ(balrog::offload([&] { return server.read_line(); }), "close 1000 client done");
  });
}

TEST(WebSocket, BalrogClientSeesTheServersCloseAndRefusals) {
  balrog::run([] {
    background_process closer({python, peer_script("ws_server.py"), "close"});
    std::string port = balrog::offload([&] { return closer.read_line(); }).substr(5);
    ws::connection c = ws::connect("ws://127.0.0.1:" + port + "/");
    auto m = c.receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data, "bye");
    EXPECT_FALSE(c.receive(10s));
    ASSERT_TRUE(c.peer_close());
    EXPECT_EQ(c.peer_close()->code, 4001);
    EXPECT_EQ(c.peer_close()->reason, "server says bye");
    EXPECT_THROW(c.send("late"), ws::connection_closed);

    background_process rejecter({python, peer_script("ws_server.py"), "reject"});
    port = balrog::offload([&] { return rejecter.read_line(); }).substr(5);
    try {
      (void)ws::connect("ws://127.0.0.1:" + port + "/");
      ADD_FAILURE() << "connected";
    } catch (const ws::handshake_error& e) {
      EXPECT_EQ(e.status(), 403u) << e.what();
    }
    EXPECT_THROW((void)ws::connect("wss://127.0.0.1:" + port + "x/"), balrog::usage_error);
    EXPECT_THROW((void)ws::connect("http://127.0.0.1/"), balrog::usage_error);
  });
}

// wss:// both ways: balrog's client (verifying the test CA's certificate) against an HTTPS
// server's WebSocket route: messages of many TLS records, concurrent senders, compression, a
// close from another fiber; a client that does not trust the certificate fails its handshake.
TEST(WebSocket, WssBetweenBalrogsClientAndAnHttpsServer) {
  balrog::run([] {
    const auto& pki = balrog::test::test_pki::get();
    hs::router r;
    std::atomic<bool> handler_saw_close{false};
    r.websocket("/secure",
                [&](hs::request&, ws::connection& c) {
                  echo_until_closed(c);
                  handler_saw_close = true;
                },
                {.permessage_deflate = true});
    hs::server srv(std::move(r),
                   {.tls = net::tls_server_options{.certificate_chain_file = pki.server_cert_file,
                                                   .private_key_file = pki.server_key_file}});
    srv.listen(net::endpoint::loopback(0));
    const std::string url =
        "wss://localhost:" + std::to_string(srv.local_endpoint().port()) + "/secure";
    EXPECT_THROW((void)ws::connect(url), net::tls_error);  // the system store lacks the test CA

    ws::connection c = ws::connect(
        url,
        {.permessage_deflate = true, .tls = net::tls_context::client({.ca_file = pki.ca_file})});
    EXPECT_TRUE(c.compressed());
    std::vector<std::string> got;
    auto receiver = balrog::spawn([&] {
      while (auto m = c.receive()) got.push_back(m->data);
    });
    auto sender = [&](char tag) {
      return balrog::spawn([&c, tag] {
        for (int i = 0; i < 20; ++i) c.send(std::string(1000 + i, tag));
      });
    };
    auto a = sender('a');
    auto b = sender('b');
    a.join();
    b.join();
    std::string large(300 * 1024, 'x');
    for (std::size_t i = 0; i < large.size(); i += 7) large[i] = static_cast<char>('a' + i % 26);
    c.send(large);
    while (got.size() < 41) balrog::this_fiber::sleep_for(5ms);
    EXPECT_EQ(got.back(), large);
    c.close(ws::close_codes::normal, "from another fiber");
    receiver.join();
    EXPECT_FALSE(c.is_open());
    for (const auto& m : got) {
      EXPECT_EQ(m.find_first_not_of(m[0]) == std::string::npos, m.size() < 1050);
    }
    for (int i = 0; i < 100 && !handler_saw_close; ++i) balrog::this_fiber::sleep_for(10ms);
    EXPECT_TRUE(handler_saw_close);
    srv.shutdown();
  });
}

TEST(WebSocket, BalrogClientAndServerTalkAndCloseFromAnotherFiber) {
  balrog::run([] {
    hs::router r;
    std::atomic<bool> handler_saw_close{false};
    r.websocket("/duplex", [&](hs::request&, ws::connection& c) {
      echo_until_closed(c);
      handler_saw_close = true;
    });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    ws::connection c = ws::connect(ws_url(srv, "/duplex"));
    // A receiver fiber, and two senders racing each other: every message comes back whole.
    std::vector<std::string> got;
    auto receiver = balrog::spawn([&] {
      while (auto m = c.receive()) got.push_back(m->data);
    });
    auto sender = [&](char tag) {
      return balrog::spawn([&c, tag] {
        for (int i = 0; i < 50; ++i) c.send(std::string(1000 + i, tag));
      });
    };
    auto a = sender('a');
    auto b = sender('b');
    a.join();
    b.join();
    while (got.size() < 100) balrog::this_fiber::sleep_for(5ms);
    c.close(ws::close_codes::normal, "from another fiber");  // the receiver runs the handshake
    receiver.join();
    EXPECT_FALSE(c.is_open());
    std::size_t a_seen = 0;
    for (const auto& m : got) {
      ASSERT_TRUE(m.size() >= 1000 && m.size() < 1050);
      EXPECT_EQ(m.find_first_not_of(m[0]), std::string::npos) << "a message was interleaved";
      if (m[0] == 'a') {
        EXPECT_EQ(m.size(), 1000 + a_seen++);  // in order per sender
      }
    }
    for (int i = 0; i < 100 && !handler_saw_close; ++i) balrog::this_fiber::sleep_for(10ms);
    EXPECT_TRUE(handler_saw_close);
    srv.shutdown();
  });
}

TEST(WebSocket, ProtocolViolationsCloseWith1002) {
  balrog::run([] {
    hs::router r;
    std::atomic<std::uint16_t> code{0};
    r.websocket("/strict", [&](hs::request&, ws::connection& c) {
      try {
        echo_until_closed(c);
      } catch (const ws::protocol_error& e) {
        code = e.close_code();
      }
    });
    hs::server srv(std::move(r));
    srv.listen(net::endpoint::loopback(0));
    net::stream s = net::connect(srv.local_endpoint(), 5s);
    s.write_all(
        "GET /strict HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    std::string got;
    std::array<std::byte, 4096> buf{};
    while (got.find("\r\n\r\n") == std::string::npos) {
      const std::size_t n = s.read_some(buf, 5s);
      ASSERT_GT(n, 0u);
      got.append(reinterpret_cast<const char*>(buf.data()), n);
    }
    EXPECT_TRUE(got.starts_with("HTTP/1.1 101 Switching Protocols")) << got;
    EXPECT_NE(got.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
    s.write_all(std::string("\x81\x02hi", 4));  // a client frame must be masked
    std::string close;
    for (;;) {
      std::size_t n = 0;
      try {
        n = s.read_some(buf, 5s);
      } catch (const balrog::io_error&) {
        break;
      }
      if (n == 0) break;
      close.append(reinterpret_cast<const char*>(buf.data()), n);
    }
    ASSERT_GE(close.size(), 4u);
    EXPECT_EQ(static_cast<unsigned char>(close[0]), 0x88);  // close frame
    EXPECT_EQ((static_cast<unsigned char>(close[2]) << 8) | static_cast<unsigned char>(close[3]),
              1002);
    for (int i = 0; i < 100 && code == 0; ++i) balrog::this_fiber::sleep_for(10ms);
    EXPECT_EQ(code.load(), 1002);
    srv.shutdown();
  });
}

TEST(WebSocket, SyncModeServesWebSocketsAndTheHubSendsFromOtherThreads) {
  ws::hub hub;
  hs::router r;
  r.websocket("/t/{k}", [&](hs::request& req, ws::connection& c) {
    auto membership = hub.add(std::string(req.param("k")), c);
    echo_until_closed(c);
  });
  hs::server srv(std::move(r));
  srv.listen(net::endpoint::loopback(0));
  background_process listener(
      {python, peer_script("ws_client.py"), "listen", ws_url(srv, "/t/k1")});
  EXPECT_EQ(listener.read_line(), "ready");
  while (hub.count("k1") == 0) std::this_thread::sleep_for(5ms);
  std::thread other([&] {
    for (int i = 0; i < 5; ++i) EXPECT_EQ(hub.send("k1", "m" + std::to_string(i)), 1u);
  });
  other.join();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(listener.read_line(), "got m" + std::to_string(i));
  srv.shutdown(5s);
  EXPECT_EQ(listener.read_line(), "close 1001");
}

}  // namespace
