// The access log's lines and the request ids.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "balrog/http/server.hpp"
#include "support/memory_connection.hpp"

namespace hs = balrog::http::server;
using hs::test::serve_bytes;
using hs::test::split_responses;

namespace {

TEST(HttpMiddleware, AccessLogWritesCommonAndCombinedLines) {
  std::vector<std::string> lines;
  hs::router r;
  r.use(hs::access_log([&](std::string_view line) { lines.emplace_back(line); }));
  r.get("/x", [](hs::request&) { return hs::response::text("12345"); });
  r.get("/empty", [](hs::request&) { return hs::response(hs::status::no_content); });
  (void)serve_bytes(r,
                    "GET /x?q=\"1\" HTTP/1.1\r\nHost: h\r\n\r\n"
                    "GET /empty HTTP/1.1\r\nHost: h\r\n\r\n"
                    "GET /none HTTP/1.0\r\n\r\n");
  ASSERT_EQ(lines.size(), 3u);
  const std::regex common(
      R"(^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET /x\?q=\\x221\\x22 HTTP/1\.1" 200 5$)");
  EXPECT_TRUE(std::regex_match(lines[0], common)) << lines[0];
  EXPECT_TRUE(lines[1].ends_with("\"GET /empty HTTP/1.1\" 204 -")) << lines[1];
  EXPECT_TRUE(lines[2].ends_with("\"GET /none HTTP/1.0\" 404 10")) << lines[2];

  std::ostringstream out;
  hs::router c;
  c.use(hs::access_log(out, hs::log_format::combined));
  c.get("/x", [](hs::request&) { return hs::response::text("1"); });
  (void)serve_bytes(c, "GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: t/1\r\n\r\n");
  EXPECT_TRUE(out.str().ends_with("\"GET /x HTTP/1.1\" 200 1 \"-\" \"t/1\"\n")) << out.str();
}

TEST(HttpMiddleware, RequestIdsAreKeptOrMadeAndLogged) {
  std::vector<std::string> lines;
  std::vector<std::string> seen;
  hs::router r;
  r.use(hs::request_id());
  r.use(hs::access_log([&](std::string_view line) { lines.emplace_back(line); }));
  r.get("/x", [&](hs::request& req) {
    seen.push_back(req.id());
    return hs::response::text("x");
  });
  const auto out =
      split_responses(serve_bytes(r,
                                  "GET /x HTTP/1.1\r\nHost: h\r\nX-Request-Id: abc-123\r\n\r\n"
                                  "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
                                  "GET /x HTTP/1.1\r\nHost: h\r\nX-Request-Id: has space\r\n\r\n"));
  ASSERT_EQ(out.size(), 3u);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], "abc-123");
  EXPECT_NE(out[0].head.find("X-Request-Id: abc-123"), std::string::npos);
  EXPECT_TRUE(std::regex_match(seen[1], std::regex("[0-9a-f]{32}"))) << seen[1];
  EXPECT_NE(seen[1], seen[2]);
  EXPECT_NE(out[1].head.find("X-Request-Id: " + seen[1]), std::string::npos);
  EXPECT_TRUE(lines[0].ends_with(" rid=abc-123")) << lines[0];
}

}  // namespace
