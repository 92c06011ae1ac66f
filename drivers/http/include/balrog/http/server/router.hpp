// balrog/http/server/router.hpp — which handler answers a request: by method and path.
//
//   hs::router r;
//   r.get("/", [](hs::request&) { return hs::response::text("hello\n"); });
//   r.get("/orders/{id}", show_order);                   // one segment, percent-decoded
//   r.post("/orders", create_order);
//   r.get("/files/{path...}", send_file);                // the rest of the path, '/' included
//   r.get("/slow", [](hs::request& req) -> balrog::task<hs::response> {   // a coroutine handler
//     co_await balrog::sleep_for(10ms);
//     co_return hs::response::text("late\n");
//   });
//   r.websocket("/ws/{user}", [](hs::request& req, websocket::connection& ws) { ... });
//   r.use(hs::access_log(std::cerr));                    // middleware, outermost first
//
// Handlers: `response(request&)`, called on the connection's fiber (a plain thread in sync
// mode) and free to block balrog-style (drivers, sleeps, locks); or `task<response>(request&)`,
// a coroutine, awaited on that same fiber. A handler may throw http_error for an error status.
//
// Matching: the path is split at '/' and compared segment by segment, each segment
// percent-decoded first. A literal segment wins over a {param}, which wins over a {rest...}
// (only as the last segment; it matches the remaining segments, even none). So "/a/new" and
// "/a/{id}" may both exist. No match: 404 Not Found. A path that matches with another method:
// 405 Method Not Allowed with an Allow header. HEAD uses the GET handler when there is no HEAD
// route (the body is not sent). OPTIONS without a route answers 204 with Allow.
//
// Middleware wraps every request the router answers (404s and 405s too), in the order use()
// was called (the first is the outermost): `response(request&, const next&)`, calling
// next(req) to run the rest of the chain. WebSocket routes run the chain too: there next()
// returns a 101 placeholder (response::is_websocket_upgrade()); middleware may add headers to
// it (they are sent with the 101) or answer something else instead (a 401: no upgrade).
//
// A router is filled before it is handed to the server; afterwards the server shares it among
// its shards read-only. Registering the same method and pattern twice, a malformed pattern
// (no leading '/', unbalanced braces, a {rest...} that is not last, a parameter name used
// twice) throws usage_error at registration.
#pragma once

#include <concepts>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/http/server/request.hpp"
#include "balrog/http/server/response.hpp"
#include "balrog/http/websocket/options.hpp"
#include "balrog/task.hpp"

namespace balrog::http::websocket {
class connection;
}

namespace balrog::http::server {

using handler = std::function<response(request&)>;
using websocket_handler = std::function<void(request&, websocket::connection&)>;

namespace detail {
struct route_table;
struct route;
}  // namespace detail
struct route_match;

// The rest of the middleware chain, from one middleware's point of view: next(req) runs the
// middleware after this one, and in the end the handler, and returns their response.
class next {
 public:
  response operator()(request& req) const;

 private:
  friend struct detail::route_table;
  next(const detail::route_table& table, std::size_t position, route_match& match) noexcept
      : table_(table), position_(position), match_(match) {}
  const detail::route_table& table_;
  std::size_t position_;
  route_match& match_;
};
using middleware = std::function<response(request&, const next&)>;

// What the router found for a method and path (the server asks before reading the body).
struct route_match {
  enum class kind { http, websocket, not_found, method_not_allowed, options };
  kind what = kind::not_found;
  const detail::route* route = nullptr;  // for http and websocket
  std::vector<std::pair<std::string, std::string>> params;
  std::string allow;  // "GET, HEAD, POST" for method_not_allowed and options
  // What the handler threw, when dispatch() answered 500 for it (see dispatch()).
  std::exception_ptr failure;
};

class router {
 public:
  router();
  ~router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  // Registers a handler for `method` and `pattern`. F is callable as response(request&) or
  // task<response>(request&).
  template <class F>
  router& route(verb method, std::string_view pattern, F&& fn) {
    return add(method, pattern, to_handler(std::forward<F>(fn)));
  }
  template <class F>
  router& get(std::string_view pattern, F&& fn) {
    return route(verb::get, pattern, std::forward<F>(fn));
  }
  template <class F>
  router& post(std::string_view pattern, F&& fn) {
    return route(verb::post, pattern, std::forward<F>(fn));
  }
  template <class F>
  router& put(std::string_view pattern, F&& fn) {
    return route(verb::put, pattern, std::forward<F>(fn));
  }
  template <class F>
  router& patch(std::string_view pattern, F&& fn) {
    return route(verb::patch, pattern, std::forward<F>(fn));
  }
  template <class F>
  router& del(std::string_view pattern, F&& fn) {  // DELETE ("delete" is a keyword)
    return route(verb::delete_, pattern, std::forward<F>(fn));
  }

  // A WebSocket endpoint (GET + Upgrade: websocket). The server completes the handshake
  // (permessage-deflate when options and client agree), then calls `fn` on the connection's
  // fiber with the open WebSocket; when `fn` returns, the WebSocket is closed (1000) and so is
  // the TCP connection. A plain GET to the path gets 426 Upgrade Required.
  router& websocket(std::string_view pattern, websocket_handler fn,
                    websocket::options options = {});

  // Serves the files under `root` at `prefix` ("/static"): GET and HEAD of prefix + "/" +
  // relative path, through serve_file() (balrog/http/server/static_files.hpp), which answers
  // 404 for anything missing or outside root.
  router& static_files(std::string_view prefix, std::filesystem::path root);

  // Adds a middleware around every handler (see above).
  router& use(middleware m);

  // --- dispatching (the server's part; tests call them too) ---------------------------------

  // Looks up `method` and `path` (percent-encoded, as in request::path()).
  [[nodiscard]] route_match find(verb method, std::string_view method_string,
                                 std::string_view path) const;
  // Runs the middleware chain around the matched handler (or the 404/405/OPTIONS answer).
  // Stores the match's parameters in `req`. The handler's exceptions become answers inside
  // the chain, so middleware sees them: http_error its status and message, anything else a
  // 500, the exception kept in match.failure for the server to report. balrog::cancelled,
  // and whatever middleware itself throws, propagate.
  [[nodiscard]] response dispatch(request& req, route_match& match) const;
  // find() + dispatch().
  [[nodiscard]] response handle(request& req) const;
  // The WebSocket handler and options of a websocket match.
  [[nodiscard]] static const websocket_handler& websocket_handler_of(const route_match& m);
  [[nodiscard]] static const websocket::options& websocket_options_of(const route_match& m);

 private:
  template <class F>
  static handler to_handler(F&& fn) {
    using result = std::invoke_result_t<std::decay_t<F>&, request&>;
    if constexpr (std::is_same_v<result, task<response>>) {
      return [f = std::forward<F>(fn)](request& req) mutable { return balrog::await(f(req)); };
    } else {
      static_assert(std::is_same_v<result, response>,
                    "a handler returns balrog::http::server::response or "
                    "balrog::task<balrog::http::server::response>");
      return handler(std::forward<F>(fn));
    }
  }
  router& add(verb method, std::string_view pattern, handler h);

  std::unique_ptr<detail::route_table> table_;
};

}  // namespace balrog::http::server
