// The request API against the Python peer (peers/test_server.py): methods, bodies, headers,
// query parameters, JSON, redirects, cookies, authentication, decompression, statuses.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "balrog/http/client.hpp"
#include "balrog/run.hpp"
#include "support/client_helpers.hpp"
#include "support/peers.hpp"

using namespace std::chrono_literals;
namespace http = balrog::http;
using balrog::test::echo_of;
using balrog::test::fetch;
using balrog::test::python_peer;
using balrog::test::seen_header;

namespace {

TEST(HttpRequests, GetWithParamsAndHeaders) {
  balrog::run([] {
    http::response r = fetch(
        "GET", python_peer::url("/echo?fixed=1"),
        {.params = {{"q", "a b&c"}, {"tag", "x"}, {"tag", "y"}}, .headers = {{"X-Test", "yes"}}});
    const auto echo = echo_of(r);
    EXPECT_EQ(echo.at("method").as_string(), "GET");
    const auto& query = echo.at("query").as_array();
    ASSERT_EQ(query.size(), 4u);
    EXPECT_EQ(query[0].as_array()[1].as_string(), "1");
    EXPECT_EQ(query[1].as_array()[1].as_string(), "a b&c");  // encoded, then decoded by the peer
    EXPECT_EQ(query[3].as_array()[1].as_string(), "y");
    EXPECT_EQ(seen_header(echo, "x-test"), "yes");
    EXPECT_EQ(seen_header(echo, "user-agent"), "balrog-http/0.1");
    EXPECT_EQ(seen_header(echo, "expect"), "");
    EXPECT_EQ(r.http_version(), "1.1");
    EXPECT_EQ(r.reason(), "OK");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_TRUE(r.ok());
    EXPECT_GT(r.elapsed().count(), 0);
    EXPECT_NE(r.url().find("fixed=1&q=a+b%26c&tag=x&tag=y"), std::string::npos) << r.url();
  });
}

TEST(HttpRequests, EveryMethod) {
  balrog::run([] {
    for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
      EXPECT_EQ(echo_of(fetch(m, python_peer::url("/echo"))).at("method").as_string(), m);
    }
    http::response head = fetch("HEAD", python_peer::url("/bytes/100"));
    EXPECT_EQ(head.status(), 200);
    EXPECT_EQ(head.text(), "");
    EXPECT_EQ(head.header("content-length"), "100");
  });
}

TEST(HttpRequests, JsonFormAndRawBodies) {
  balrog::run([] {
    auto echo =
        echo_of(fetch("POST", python_peer::url("/echo"), {.json = {{"name", "ada"}, {"n", 1}}}));
    EXPECT_EQ(boost::json::parse(echo.at("body").as_string()),
              (boost::json::value{{"name", "ada"}, {"n", 1}}));
    EXPECT_EQ(seen_header(echo, "content-type"), "application/json");
    echo = echo_of(fetch("POST", python_peer::url("/echo"), {.json = boost::json::array{1, 2}}));
    EXPECT_EQ(echo.at("body").as_string(), "[1,2]");
    echo = echo_of(fetch("POST", python_peer::url("/echo"), {.json = nullptr}));
    EXPECT_EQ(echo.at("body").as_string(), "null");  // a JSON null is a body, not "none"

    echo = echo_of(fetch("PUT", python_peer::url("/echo"),
                         {.form = http::fields{{"a", "1 2"}, {"b", "x&y=z"}}}));
    EXPECT_EQ(echo.at("method").as_string(), "PUT");
    EXPECT_EQ(echo.at("body").as_string(), "a=1%202&b=x%26y%3Dz");
    EXPECT_EQ(seen_header(echo, "content-type"), "application/x-www-form-urlencoded");

    std::string bytes("\0\1binary\xff", 9);
    echo = echo_of(fetch("PATCH", python_peer::url("/echo"),
                         {.headers = {{"Content-Type", "application/x-thing"}}, .data = bytes}));
    EXPECT_EQ(echo.at("body_base64").as_string(), "AAFiaW5hcnn/");
    EXPECT_EQ(seen_header(echo, "content-type"), "application/x-thing");

    echo = echo_of(fetch("POST", python_peer::url("/echo")));  // POST without a body
    EXPECT_EQ(echo.at("body").as_string(), "");
    EXPECT_EQ(seen_header(echo, "content-length"), "0");
  });
}

TEST(HttpRequests, MultipartAndFileUploads) {
  char path[] = "/tmp/balrog-upload.XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "file contents\n";
  balrog::run([&] {
    auto echo = echo_of(
        fetch("POST", python_peer::url("/echo"),
              {.multipart = {{.name = "field", .data = "value"},
                             {.name = "upload", .file = path, .content_type = "text/plain"},
                             {.name = "named", .data = "inline", .filename = "given.txt"}}}));
    const std::string body(echo.at("body").as_string());
    EXPECT_NE(seen_header(echo, "content-type").find("multipart/form-data; boundary="),
              std::string::npos);
    EXPECT_NE(body.find("name=\"field\"\r\n\r\nvalue\r\n"), std::string::npos) << body;
    EXPECT_NE(body.find("name=\"upload\"; filename=\""), std::string::npos) << body;
    EXPECT_NE(body.find("Content-Type: text/plain\r\n\r\nfile contents\n"), std::string::npos);
    EXPECT_NE(body.find("filename=\"given.txt\""), std::string::npos) << body;

    echo = echo_of(fetch("PUT", python_peer::url("/echo"), {.upload_file = path}));
    EXPECT_EQ(echo.at("method").as_string(), "PUT");
    EXPECT_EQ(echo.at("body").as_string(), "file contents\n");
    echo = echo_of(fetch("POST", python_peer::url("/echo"), {.upload_file = path}));
    EXPECT_EQ(echo.at("method").as_string(), "POST");
    EXPECT_EQ(echo.at("body").as_string(), "file contents\n");

    EXPECT_THROW(fetch("PUT", python_peer::url("/echo"), {.upload_file = "/nonexistent/x"}),
                 balrog::io_error);
    EXPECT_THROW(fetch("POST", python_peer::url("/echo"),
                       {.multipart = {{.name = "f", .file = "/nonexistent/x"}}}),
                 balrog::io_error);
  });
  ::unlink(path);
}

TEST(HttpRequests, SessionDefaultsAndOverrides) {
  balrog::run([] {
    http::session s({.base_url = python_peer::url("/"),
                     .headers = {{"X-Session", "s"}, {"Accept", "text/plain"}},
                     .user_agent = "test-agent"});
    auto echo = echo_of(balrog::await(s.get("echo")));
    EXPECT_EQ(seen_header(echo, "x-session"), "s");
    EXPECT_EQ(seen_header(echo, "accept"), "text/plain");
    EXPECT_EQ(seen_header(echo, "user-agent"), "test-agent");
    // A request header replaces the session's; an empty value removes it.
    echo =
        echo_of(fetch(s, "GET", "/echo", {.headers = {{"x-session", "request"}, {"Accept", ""}}}));
    EXPECT_EQ(seen_header(echo, "x-session"), "request");
    EXPECT_EQ(seen_header(echo, "accept"), "");
    // An absolute URL ignores the base.
    EXPECT_EQ(balrog::await(s.get(python_peer::url("/status/204"))).status(), 204);
  });
}

TEST(HttpRequests, Redirects) {
  balrog::run([] {
    http::response r = fetch("GET", python_peer::url("/redirect/3"));
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.redirect_count(), 4);
    EXPECT_NE(r.url().find("/echo"), std::string::npos);
    EXPECT_EQ(r.header("location"), std::nullopt);  // the final response's headers only

    r = fetch("GET", python_peer::url("/redirect/3"), {.allow_redirects = false});
    EXPECT_EQ(r.status(), 302);
    EXPECT_EQ(r.header("Location"), "/redirect/2");

    // 303 after a POST: the next request is a GET without the body.
    r = fetch("POST", python_peer::url("/redirect-to?url=/echo&status=303"), {.data = "x"});
    EXPECT_EQ(echo_of(r).at("method").as_string(), "GET");
    // 307 keeps the method and the body.
    r = fetch("POST", python_peer::url("/redirect-to?url=/echo&status=307"), {.data = "x"});
    EXPECT_EQ(echo_of(r).at("method").as_string(), "POST");
    EXPECT_EQ(echo_of(r).at("body").as_string(), "x");

    try {
      fetch("GET", python_peer::url("/loop"), {.max_redirects = 5});
      ADD_FAILURE() << "a redirect loop ended";
    } catch (const http::too_many_redirects& e) {
      EXPECT_EQ(e.curl_code(), CURLE_TOO_MANY_REDIRECTS);
      EXPECT_NE(std::string(e.what()).find("/loop"), std::string::npos) << e.what();
    }
    EXPECT_THROW(fetch("GET", python_peer::url("/redirect/3"), {.max_redirects = 2}),
                 http::too_many_redirects);
    // Redirects never leave HTTP(S).
    EXPECT_THROW(fetch("GET", python_peer::url("/redirect-to?url=file:///etc/passwd")),
                 http::invalid_request);
  });
}

TEST(HttpRequests, StatusesAndRaiseForStatus) {
  balrog::run([] {
    http::response ok = fetch("GET", python_peer::url("/status/201"));
    EXPECT_NO_THROW(ok.raise_for_status());
    for (int status : {404, 500}) {
      http::response r = fetch("GET", python_peer::url("/status/" + std::to_string(status)));
      EXPECT_EQ(r.status(), status);
      EXPECT_FALSE(r.ok());
      try {
        r.raise_for_status();
        ADD_FAILURE() << "no exception for " << status;
      } catch (const http::status_error& e) {
        EXPECT_EQ(e.status(), status);
        EXPECT_NE(std::string(e.what()).find(status == 404 ? "404 Client Error: Not Found for url"
                                                           : "500 Server Error"),
                  std::string::npos)
            << e.what();
      }
    }
  });
}

TEST(HttpRequests, JsonDecoding) {
  balrog::run([] {
    EXPECT_THROW((void)fetch("GET", python_peer::url("/not-json")).json(), http::decode_error);
    try {
      (void)fetch("GET", python_peer::url("/not-json")).json();
    } catch (const http::decode_error& e) {
      EXPECT_NE(std::string(e.what()).find("is not JSON (at byte"), std::string::npos) << e.what();
    }
  });
}

TEST(HttpRequests, RepeatedHeadersAndDecompression) {
  balrog::run([] {
    http::response r = fetch("GET", python_peer::url("/headers-only"));
    const auto values = r.header_values("x-multi");
    ASSERT_EQ(values.size(), 2u);
    EXPECT_EQ(values[0], "one");
    EXPECT_EQ(values[1], "two");

    r = fetch("GET", python_peer::url("/gzip"));
    EXPECT_EQ(r.json(), (boost::json::value{{"compressed", true}}));
    EXPECT_EQ(r.header("content-encoding"), "gzip");
    http::session raw({.decompress = false});
    r = balrog::await(raw.get(python_peer::url("/gzip")));
    EXPECT_EQ(r.text().substr(0, 2), "\x1f\x8b");  // gzip magic: left as it came
  });
}

TEST(HttpRequests, SessionCookies) {
  balrog::run([] {
    http::session s;
    http::response r = balrog::await(s.get(python_peer::url("/cookies/set?a=1&b=two")));
    EXPECT_EQ(r.json().at("cookies"), (boost::json::value{{"a", "1"}, {"b", "two"}}));
    r = balrog::await(s.get(python_peer::url("/cookies")));
    EXPECT_EQ(r.json().at("cookies"), (boost::json::value{{"a", "1"}, {"b", "two"}}));
    auto jar = s.cookies();
    ASSERT_EQ(jar.size(), 2u);
    EXPECT_EQ(jar[0].domain, "127.0.0.1");

    s.set_cookie({.domain = "127.0.0.1", .path = "/", .name = "c", .value = "3"});
    r = balrog::await(s.get(python_peer::url("/cookies")));
    EXPECT_EQ(r.json().at("cookies").as_object().at("c"), "3");
    // Per-request cookies come on top of the jar.
    r = fetch(s, "GET", python_peer::url("/cookies"), {.cookies = {{"d", "4"}}});
    EXPECT_EQ(r.json().at("cookies").as_object().size(), 4u);
    s.clear_cookies();
    EXPECT_TRUE(s.cookies().empty());
    r = balrog::await(s.get(python_peer::url("/cookies")));
    EXPECT_EQ(r.json().at("cookies"), boost::json::object());

    // The free functions keep no cookies; nor does a session with cookies off.
    r = fetch("GET", python_peer::url("/cookies/set?a=1"));
    EXPECT_EQ(r.json().at("cookies"), boost::json::object());
    http::session no_jar({.cookies = false});
    r = balrog::await(no_jar.get(python_peer::url("/cookies/set?a=1")));
    EXPECT_EQ(r.json().at("cookies"), boost::json::object());
  });
}

TEST(HttpRequests, BasicAuth) {
  balrog::run([] {
    EXPECT_EQ(fetch("GET", python_peer::url("/basic-auth/u/p")).status(), 401);
    http::response r =
        fetch("GET", python_peer::url("/basic-auth/u/p"), {.basic_auth = {{"u", "p"}}});
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.json().at("authenticated"), true);
  });
}

TEST(HttpRequests, Proxies) {
  balrog::run([] {
    // The Python peer answers proxy-style requests ("GET http://host/path") as its own.
    http::response r = fetch("GET", "http://upstream.invalid/echo?x=1",
                             {.proxy = "http://127.0.0.1:" + std::to_string(python_peer::port())});
    const auto echo = echo_of(r);
    EXPECT_EQ(echo.at("path").as_string(), "/echo");
    EXPECT_EQ(seen_header(echo, "host"), "upstream.invalid");
    // The environment's proxy is used by default, and "-" turns it off.
    // (A no_proxy of the environment is set aside meanwhile.)
    const std::string closed = "http://127.0.0.1:" + std::to_string(balrog::test::free_port());
    std::vector<std::pair<std::string, std::string>> saved;
    for (const char* name : {"no_proxy", "NO_PROXY"}) {
      if (const char* v = ::getenv(name)) saved.emplace_back(name, v);
      ::unsetenv(name);
    }
    ::setenv("http_proxy", closed.c_str(), 1);
    EXPECT_THROW(fetch("GET", python_peer::url("/echo")), http::connection_error);
    EXPECT_EQ(fetch("GET", python_peer::url("/echo"), {.proxy = "-"}).status(), 200);
    ::unsetenv("http_proxy");
    for (const auto& [name, value] : saved) ::setenv(name.c_str(), value.c_str(), 1);
  });
}

TEST(HttpRequests, BadRequestsAreRefusedBeforeSending) {
  balrog::run([] {
    EXPECT_THROW(fetch("POST", python_peer::url("/echo"), {.data = "a", .json = 1}),
                 balrog::usage_error);
    EXPECT_THROW(fetch("GE T", python_peer::url("/echo")), balrog::usage_error);
    EXPECT_THROW(fetch("GET", python_peer::url("/echo"), {.headers = {{"X", "a\r\nInjected: 1"}}}),
                 balrog::usage_error);
    EXPECT_THROW(fetch("GET", python_peer::url("/echo"), {.headers = {{"Bad Name", "x"}}}),
                 balrog::usage_error);
    EXPECT_THROW(fetch("GET", "no-scheme-and-no-base"), http::invalid_request);
    EXPECT_THROW(fetch("GET", "http://[::1"), http::invalid_request);
    EXPECT_THROW(fetch("GET", "ftp://127.0.0.1/"), http::invalid_request);
    EXPECT_THROW(fetch("GET", "file:///etc/passwd"), http::invalid_request);
  });
}

}  // namespace
