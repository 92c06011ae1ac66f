// The generated blocking-style face (balrog/http/generated/client_blocking.hpp): the free
// functions, a session's methods and a streaming response's reads, on a fiber and on a plain
// thread, with the braced options the coroutine API cannot take under GCC 12.
#include <gtest/gtest.h>

#include <string>

#include "balrog/http/client.hpp"
#include "balrog/http/generated/client_blocking.hpp"
#include "balrog/run.hpp"
#include "balrog/task.hpp"
#include "support/client_helpers.hpp"
#include "support/peers.hpp"

namespace http = balrog::http;
using balrog::test::echo_of;
using balrog::test::python_peer;
using balrog::test::seen_header;

namespace {

void use_the_blocking_face() {
  http::response r = http::blocking::get(python_peer::url("/echo"), {.params = {{"a", "1"}}});
  EXPECT_EQ(echo_of(r).at("query").as_array().size(), 1u);
  EXPECT_EQ(http::blocking::post(python_peer::url("/echo"), {.json = {{"k", "v"}}}).status(), 200);
  EXPECT_EQ(http::blocking::put(python_peer::url("/echo")).status(), 200);
  EXPECT_EQ(http::blocking::patch(python_peer::url("/echo")).status(), 200);
  EXPECT_EQ(http::blocking::delete_(python_peer::url("/echo")).status(), 200);
  EXPECT_EQ(http::blocking::head(python_peer::url("/echo")).status(), 200);

  http::session s({.base_url = python_peer::url("/"), .headers = {{"X-From", "session"}}});
  EXPECT_EQ(seen_header(echo_of(http::blocking::get(s, "echo")), "x-from"), "session");
  EXPECT_EQ(http::blocking::post(s, "echo", {.data = "x"}).status(), 200);

  http::response streamed = http::blocking::get(s, "bytes/100000", {.stream = true});
  std::string body;
  while (auto piece = http::blocking::next_chunk(streamed)) body += *piece;
  EXPECT_EQ(body.size(), 100000u);
  http::response rest = http::blocking::get(s, "bytes/1000", {.stream = true});
  http::blocking::read_all(rest);
  EXPECT_EQ(rest.text().size(), 1000u);
}

TEST(HttpBlocking, OnAFiber) {
  balrog::run([] { use_the_blocking_face(); });
}

TEST(HttpBlocking, OnAPlainThread) { use_the_blocking_face(); }

balrog::task<void> shim_in_coroutine() {
  EXPECT_THROW(http::blocking::get(python_peer::url("/echo")), balrog::usage_error);
  co_return;
}

TEST(HttpBlocking, RefusedInCoroutineCode) {
  balrog::run([] { balrog::spawn_task(shim_in_coroutine()).join(); });
}

}  // namespace
