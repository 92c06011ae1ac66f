// The connection loop over memory: keep-alive, pipelining, chunked bodies, 100-continue,
// every limit's status, HEAD, HTTP/1.0, handler failures. No sockets, no runtime.
#include <gtest/gtest.h>

#include <string>

#include "balrog/http/server.hpp"
#include "support/memory_connection.hpp"

namespace hs = balrog::http::server;
using hs::test::serve_bytes;
using hs::test::split_responses;

namespace {

hs::router echo_router() {
  hs::router r;
  r.get("/hello", [](hs::request&) { return hs::response::text("hello\n"); });
  r.post("/echo", [](hs::request& req) {
    hs::response res = hs::response::text(req.body());
    res.set("X-Seen-Length", std::to_string(req.body().size()));
    return res;
  });
  r.get("/n/{n}", [](hs::request& req) { return hs::response::text(std::string(req.param("n"))); });
  r.get("/stream", [](hs::request&) {
    return hs::response::stream(
        [](hs::chunk_writer& out) {
          out.write("one,");
          out.write("");  // nothing: an empty chunk would end the body
          out.write("two");
        },
        "text/plain");
  });
  r.get("/boom", [](hs::request&) -> hs::response { throw std::runtime_error("kaput"); });
  r.get("/teapot", [](hs::request&) -> hs::response {
    throw hs::http_error(hs::status::payment_required, "short and stout");
  });
  r.get("/close", [](hs::request&) {
    hs::response res = hs::response::text("bye");
    res.set(hs::field::connection, "close");
    return res;
  });
  return r;
}

hs::options quiet_options() {
  hs::options o;
  o.on_handler_error = [](const hs::request&, std::exception_ptr) {};
  return o;
}

std::string get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) + "\r\n";
}

TEST(HttpConnection, AnswersAndKeepsTheConnectionAlive) {
  const auto r = echo_router();
  const auto out = split_responses(serve_bytes(r, get("/hello") + get("/n/2")));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, 200u);
  EXPECT_EQ(out[0].body, "hello\n");
  EXPECT_NE(out[0].head.find("Content-Length: 6"), std::string::npos);
  EXPECT_NE(out[0].head.find("Server: balrog"), std::string::npos);
  EXPECT_NE(out[0].head.find("Date: "), std::string::npos);
  EXPECT_EQ(out[0].head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(out[1].body, "2");
}

TEST(HttpConnection, AnswersPipelinedRequestsInOrderWhateverTheReadSizes) {
  const auto r = echo_router();
  std::string in;
  for (int i = 0; i < 20; ++i) in += get("/n/" + std::to_string(i));
  for (const std::vector<std::size_t>& pieces :
       {std::vector<std::size_t>{}, {1, 1, 1, 1, 1, 1, 1}, std::vector<std::size_t>(2000, 3)}) {
    const auto out = split_responses(serve_bytes(r, in, {}, pieces));
    ASSERT_EQ(out.size(), 20u);
    for (int i = 0; i < 20; ++i)
      EXPECT_EQ(out[static_cast<std::size_t>(i)].body, std::to_string(i));
  }
}

TEST(HttpConnection, ReadsChunkedRequestBodies) {
  const auto r = echo_router();
  const std::string in =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n" +
      get("/n/after");
  const auto out = split_responses(serve_bytes(r, in, {}, std::vector<std::size_t>(200, 2)));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].body, "hello, world");
  EXPECT_EQ(out[1].body, "after");
}

// A client sending an empty chunked body byte by byte: Boost 1.81's Beast asserts on the
// fourth byte of "0\r\n\r\n" unless the reader waits for the fifth (found by the fuzzer).
TEST(HttpConnection, ReadsAnEmptyChunkedBodySentByteByByte) {
  const auto r = echo_router();
  const std::string in =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
      get("/n/after");
  const std::string with_trailer =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: t\r\n\r\n" +
      get("/n/after");
  for (const std::string& request : {in, with_trailer}) {
    const auto out = split_responses(serve_bytes(r, request, {}, std::vector<std::size_t>(200, 1)));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].status, 200u);
    EXPECT_EQ(out[0].body, "");
    EXPECT_EQ(out[1].body, "after");
  }
}

TEST(HttpConnection, StreamsChunkedResponses) {
  const auto r = echo_router();
  const std::string raw = serve_bytes(r, get("/stream") + get("/n/3"));
  EXPECT_NE(raw.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(raw.find("4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\n"), std::string::npos);
  const auto out = split_responses(raw);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].body, "one,two");
  EXPECT_EQ(out[1].body, "3");
}

TEST(HttpConnection, StreamsToAnHttp10ClientUntilTheConnectionEnds) {
  const auto r = echo_router();
  const std::string raw = serve_bytes(r, "GET /stream HTTP/1.0\r\n\r\n" + get("/n/ignored"));
  EXPECT_EQ(raw.find("chunked"), std::string::npos);
  EXPECT_EQ(raw.find("Content-Length"), std::string::npos);
  EXPECT_EQ(raw.find("keep-alive"), std::string::npos);  // HTTP/1.0 closes by default
  EXPECT_TRUE(raw.ends_with("\r\n\r\none,two")) << raw;
}

TEST(HttpConnection, SendsContinueBeforeReadingAnExpectedBody) {
  const auto r = echo_router();
  const std::string in =
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nabcd";
  const std::string raw = serve_bytes(r, in, {}, {std::string_view(in).find("abcd")});
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")) << raw;
  EXPECT_TRUE(raw.ends_with("abcd"));
}

TEST(HttpConnection, RefusesAnExpectedBodyForAMissingRouteWithoutReadingIt) {
  const auto r = echo_router();
  const std::string raw = serve_bytes(
      r, "POST /nowhere HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 404 Not Found\r\n")) << raw;
  EXPECT_EQ(raw.find("100 Continue"), std::string::npos);
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
}

struct limit_case {
  const char* name;
  std::string request;
  unsigned status;
};

TEST(HttpConnection, AnswersEachLimitWithItsStatusAndCloses) {
  const auto r = echo_router();
  hs::options o;
  o.max_header_bytes = 1024;
  o.max_header_fields = 10;
  o.max_url_bytes = 100;
  o.max_body_bytes = 16;
  std::string many_fields;
  for (int i = 0; i < 11; ++i) many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  const std::vector<limit_case> cases = {
      {"header bytes", get("/hello", "X-Big: " + std::string(2000, 'a') + "\r\n"), 431},
      {"header fields", get("/hello", many_fields), 431},
      {"URL within the header limit", get("/" + std::string(200, 'u')), 414},
      {"URL beyond the header limit", get("/" + std::string(5000, 'u')), 414},
      {"declared body",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n" + std::string(17, 'b'), 413},
      {"chunked body",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" +
           std::string(16, 'b') + "\r\n1\r\nb\r\n0\r\n\r\n",
       413},
      {"malformed request line", "GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"garbage", std::string("\x01\x02\x03 nonsense\r\n\r\n"), 400},
      {"bad header line", "GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400},
      {"missing Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
      {"HTTP/2.0 in text", "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"bad Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400},
      {"unknown expectation", get("/hello", "Expect: tea\r\n"), 417},
  };
  for (const auto& c : cases) {
    const std::string raw = serve_bytes(r, c.request + get("/n/unreached"), o);
    const auto out = split_responses(raw);
    ASSERT_GE(out.size(), 1u) << c.name;
    EXPECT_EQ(out[0].status, c.status) << c.name << ": " << raw.substr(0, 200);
    EXPECT_NE(out[0].head.find("Connection: close"), std::string::npos) << c.name;
    EXPECT_EQ(raw.find("unreached"), std::string::npos) << c.name << ": served after a refusal";
  }
}

TEST(HttpConnection, CutShortRequestsAreDroppedWithoutAnAnswer) {
  const auto r = echo_router();
  EXPECT_EQ(serve_bytes(r, ""), "");
  const auto half = split_responses(serve_bytes(r, "GET /hello HTTP/1.1\r\nHo"));
  ASSERT_EQ(half.size(), 1u);
  EXPECT_EQ(half[0].status, 400u);
  const auto body = split_responses(
      serve_bytes(r, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0].status, 400u);
}

TEST(HttpConnection, HandlerErrorsBecomeStatusesAndTheConnectionStaysOpen) {
  const auto r = echo_router();
  int reported = 0;
  hs::options o;
  o.on_handler_error = [&](const hs::request& req, std::exception_ptr e) {
    ++reported;
    EXPECT_EQ(req.target(), "/boom");
    EXPECT_THROW(std::rethrow_exception(e), std::runtime_error);
  };
  const auto out = split_responses(serve_bytes(r, get("/boom") + get("/teapot") + get("/n/1"), o));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].status, 500u);
  EXPECT_EQ(out[0].body.find("kaput"), std::string::npos) << "internals leak to the client";
  EXPECT_EQ(out[1].status, 402u);
  EXPECT_EQ(out[1].body, "short and stout\n");
  EXPECT_EQ(out[2].body, "1");
  EXPECT_EQ(reported, 1);
}

TEST(HttpConnection, HeadSendsTheGetHeaderWithoutTheBody) {
  const auto r = echo_router();
  const std::string raw = serve_bytes(r, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n" + get("/n/7"));
  const std::size_t first_end = raw.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos);
  EXPECT_NE(raw.substr(0, first_end).find("Content-Length: 6"), std::string::npos);
  EXPECT_TRUE(raw.substr(first_end + 4).starts_with("HTTP/1.1 200 OK")) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\n7"));
}

TEST(HttpConnection, Http10ClosesUnlessKeepAliveIsAsked) {
  const auto r = echo_router();
  const auto once = split_responses(serve_bytes(r, "GET /hello HTTP/1.0\r\n\r\n" + get("/n/1")));
  ASSERT_EQ(once.size(), 1u);
  EXPECT_TRUE(once[0].head.starts_with("HTTP/1.0 200 OK"));
  const auto kept = split_responses(
      serve_bytes(r, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get("/n/1")));
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_NE(kept[0].head.find("Connection: keep-alive"), std::string::npos);
}

TEST(HttpConnection, ConnectionCloseFromEitherSideEndsIt) {
  const auto r = echo_router();
  EXPECT_EQ(
      split_responses(serve_bytes(r, get("/hello", "Connection: close\r\n") + get("/n/1"))).size(),
      1u);
  EXPECT_EQ(split_responses(serve_bytes(r, get("/close") + get("/n/1"))).size(), 1u);
}

TEST(HttpConnection, RouterAnswersMissingPathsAndMethods) {
  const auto r = echo_router();
  const auto out = split_responses(serve_bytes(
      r,
      get("/missing") + "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n" +
          "OPTIONS /hello HTTP/1.1\r\nHost: x\r\n\r\n" + "BREW /hello HTTP/1.1\r\nHost: x\r\n\r\n",
      quiet_options()));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].status, 404u);
  EXPECT_EQ(out[1].status, 405u);
  EXPECT_NE(out[1].head.find("Allow: GET, HEAD, OPTIONS"), std::string::npos) << out[1].head;
  EXPECT_EQ(out[2].status, 204u);
  EXPECT_EQ(out[3].status, 405u);
}

TEST(HttpConnection, AbsoluteFormTargetsAreRoutedByTheirPath) {
  const auto r = echo_router();
  const auto out = split_responses(serve_bytes(r, get("http://example.com/n/5?x=1")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body, "5");
}

TEST(HttpConnection, WebSocketRoutesAnswer426ToPlainRequestsAnd501InMemory) {
  hs::router r;
  r.websocket("/ws", [](hs::request&, balrog::http::websocket::connection&) {});
  const auto plain = split_responses(serve_bytes(r, get("/ws")));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].status, 426u);
  const auto upgrade = split_responses(serve_bytes(
      r, get("/ws",
             "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")));
  ASSERT_EQ(upgrade.size(), 1u);
  EXPECT_EQ(upgrade[0].status, 501u);
}

TEST(HttpConnection, AShutdownDuringARequestAnswersItWithCloseAndEnds) {
  hs::test::memory_host host;
  hs::router r;
  r.get("/slow", [&host](hs::request&) {
    host.stopping_ = true;  // the server starts shutting down while this request runs
    return hs::response::text("done");
  });
  balrog::http::server::detail::memory_transport t(get("/slow") + get("/slow"));
  hs::options o;
  balrog::http::server::detail::connection c(t, r, o, host, {});
  (void)c.serve(false);
  const auto out = split_responses(t.output());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body, "done");
  EXPECT_NE(out[0].head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(t.send_closed());
}

TEST(HttpConnection, ANewConnectionIsNotServedOnceStopping) {
  const auto r = echo_router();
  balrog::http::server::detail::memory_transport t(get("/hello"));
  hs::test::memory_host host;
  host.stopping_ = true;
  hs::options o;
  balrog::http::server::detail::connection c(t, r, o, host, {});
  (void)c.serve(false);
  EXPECT_EQ(t.output(), "");
}

}  // namespace
