// The router: matching precedence, parameters, 404/405/OPTIONS/HEAD, coroutine handlers,
// middleware order, malformed patterns.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/http/server.hpp"
#include "balrog/sleep.hpp"

namespace hs = balrog::http::server;

namespace {

hs::request make(hs::verb method, std::string target) {
  hs::request::message_type m{method, target, 11};
  m.set(hs::field::host, "x");
  return hs::request(std::move(m));
}

hs::response answer(const hs::router& r, hs::verb method, std::string target) {
  hs::request req = make(method, std::move(target));
  return r.handle(req);
}

hs::handler says(std::string what) {
  return [what](hs::request& req) {
    std::string body = what;
    for (const auto& [k, v] : req.params()) body += " " + k + "=" + v;
    return hs::response::text(body);
  };
}

TEST(HttpRouter, LiteralsWinOverParametersWhichWinOverRests) {
  hs::router r;
  r.get("/a/new", says("literal"));
  r.get("/a/{id}", says("param"));
  r.get("/a/{id}/b", says("param-b"));
  r.get("/a/{rest...}", says("rest"));
  r.get("/", says("root"));
  EXPECT_EQ(answer(r, hs::verb::get, "/a/new").body(), "literal");
  EXPECT_EQ(answer(r, hs::verb::get, "/a/7").body(), "param id=7");
  EXPECT_EQ(answer(r, hs::verb::get, "/a/7/b").body(), "param-b id=7");
  EXPECT_EQ(answer(r, hs::verb::get, "/a/7/c/d").body(), "rest rest=7/c/d");
  EXPECT_EQ(answer(r, hs::verb::get, "/a/").body(), "rest rest=");
  EXPECT_EQ(answer(r, hs::verb::get, "/").body(), "root");
  EXPECT_EQ(answer(r, hs::verb::get, "/a").code(), hs::status::not_found);
}

TEST(HttpRouter, BacktracksToAParameterWhenTheLiteralHasNoSuchMethod) {
  hs::router r;
  r.post("/a/new", says("create"));
  r.get("/a/{id}", says("show"));
  EXPECT_EQ(answer(r, hs::verb::get, "/a/new").body(), "show id=new");
  EXPECT_EQ(answer(r, hs::verb::post, "/a/new").body(), "create");
  const hs::response res = answer(r, hs::verb::put, "/a/new");
  EXPECT_EQ(res.code(), hs::status::method_not_allowed);
  EXPECT_EQ(res.header(hs::field::allow), "OPTIONS, POST");
}

TEST(HttpRouter, ParametersArePercentDecodedAndQueryIgnored) {
  hs::router r;
  r.get("/users/{name}/files/{path...}", says("f"));
  EXPECT_EQ(answer(r, hs::verb::get, "/users/J%C3%BCrgen%20S/files/a%2Fb/c?x=1").body(),
            "f name=J\xC3\xBCrgen S path=a/b/c");
  hs::request req = make(hs::verb::get, "/users/x/files/y");
  (void)r.handle(req);
  EXPECT_EQ(req.param("name"), "x");
  EXPECT_THROW((void)req.param("nope"), balrog::usage_error);
}

TEST(HttpRouter, HeadFallsBackToGetAndOptionsListsMethods) {
  hs::router r;
  r.get("/x", says("get"));
  r.put("/x", says("put"));
  EXPECT_EQ(answer(r, hs::verb::head, "/x").body(), "get");
  const hs::response opts = answer(r, hs::verb::options, "/x");
  EXPECT_EQ(opts.code(), hs::status::no_content);
  EXPECT_EQ(opts.header(hs::field::allow), "GET, HEAD, OPTIONS, PUT");
}

TEST(HttpRouter, CoroutineHandlersAreAwaited) {
  hs::router r;
  r.get("/co/{n}", [](hs::request& req) -> balrog::task<hs::response> {
    co_await balrog::sleep_for(std::chrono::milliseconds(1));
    co_return hs::response::text("co " + std::string(req.param("n")));
  });
  // Sync mode: balrog::await runs the coroutine on a private loop.
  EXPECT_EQ(answer(r, hs::verb::get, "/co/4").body(), "co 4");
}

TEST(HttpRouter, MiddlewareRunsOutermostFirstAndSeesEveryAnswer) {
  hs::router r;
  std::vector<std::string> trace;
  r.use([&](hs::request& req, const hs::next& next) {
    trace.push_back("outer in");
    hs::response res = next(req);
    trace.push_back("outer out " + std::to_string(static_cast<unsigned>(res.code())));
    return res;
  });
  r.use([&](hs::request& req, const hs::next& next) {
    trace.push_back("inner in");
    if (req.target() == "/deny") return hs::response(hs::status::forbidden);
    return next(req);
  });
  r.get("/ok", [&](hs::request&) {
    trace.push_back("handler");
    return hs::response::text("ok");
  });
  r.get("/fail", [](hs::request&) -> hs::response { throw std::runtime_error("x"); });
  (void)answer(r, hs::verb::get, "/ok");
  (void)answer(r, hs::verb::get, "/deny");
  (void)answer(r, hs::verb::get, "/missing");
  (void)answer(r, hs::verb::get, "/fail");
  const std::vector<std::string> expected = {
      "outer in", "inner in",      "handler",      "outer out 200", "outer in",
      "inner in", "outer out 403", "outer in",     "inner in",      "outer out 404",
      "outer in", "inner in",      "outer out 500"};
  EXPECT_EQ(trace, expected);
}

TEST(HttpRouter, RefusesMalformedAndDuplicatePatterns) {
  hs::router r;
  const auto h = says("x");
  for (const char* bad :
       {"", "no-slash", "/a{b}", "/{}", "/{a", "/{rest...}/more", "/{a}/{a}", "/{...}"}) {
    EXPECT_THROW(r.get(bad, h), balrog::usage_error) << bad;
  }
  r.get("/dup/{a}", h);
  EXPECT_THROW(r.get("/dup/{b}", h), balrog::usage_error);
  EXPECT_NO_THROW(r.post("/dup/{b}", h));
}

TEST(HttpRequest, SplitsTheTargetAndDecodesQueryParameters) {
  hs::request req = make(hs::verb::get, "/p%20q/r?a=1&b=x+y%21&flag&a=2#frag");
  EXPECT_EQ(req.path(), "/p%20q/r");
  EXPECT_EQ(req.query(), "a=1&b=x+y%21&flag&a=2");
  EXPECT_EQ(req.query_param("a"), "1");
  EXPECT_EQ(req.query_param("b"), "x y!");
  EXPECT_EQ(req.query_param("flag"), "");
  EXPECT_EQ(req.query_param("zzz"), std::nullopt);
  EXPECT_EQ(hs::percent_decode("%4a%4A%zz%4"), "JJ%zz%4");
  EXPECT_EQ(make(hs::verb::options, "*").path(), "*");
  EXPECT_EQ(make(hs::verb::get, "http://h:1").path(), "/");
}

TEST(HttpRequest, JsonBodiesParseOrAnswer400) {
  hs::request ok = make(hs::verb::post, "/");
  ok.message().body() = R"({"a": [1, 2]})";
  EXPECT_EQ(ok.json().at("a").as_array().size(), 2u);
  hs::request bad = make(hs::verb::post, "/");
  bad.message().body() = "{nope";
  try {
    (void)bad.json();
    FAIL() << "no exception";
  } catch (const hs::http_error& e) {
    EXPECT_EQ(e.code(), hs::status::bad_request);
  }
  const hs::response res = hs::response::json({{"k", "v"}}, hs::status::created);
  EXPECT_EQ(res.body(), R"({"k":"v"})");
  EXPECT_EQ(res.header(hs::field::content_type), "application/json");
}

}  // namespace

namespace {

TEST(HttpServerOptions, NonsenseIsRefusedAtConstruction) {
  const auto refused = [](hs::options o) {
    EXPECT_THROW(hs::server(hs::router(), std::move(o)), balrog::usage_error);
  };
  refused({.max_header_bytes = 10});
  refused({.max_header_fields = 0});
  refused({.max_url_bytes = 0});
  refused({.max_connections = 0});
  refused({.header_timeout = std::chrono::milliseconds(0)});
  refused({.idle_timeout = std::chrono::milliseconds(-1)});
  refused({.idle_fiber_linger = std::chrono::milliseconds(-1)});
  EXPECT_NO_THROW(hs::server(hs::router(), {.idle_fiber_linger = std::chrono::milliseconds(0)}));
  hs::server idle{hs::router()};
  EXPECT_THROW((void)idle.local_endpoint(), balrog::usage_error);
  EXPECT_NO_THROW(idle.shutdown());  // never listened: nothing to do
}

}  // namespace
