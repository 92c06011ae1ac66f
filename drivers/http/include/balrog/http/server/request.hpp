// balrog/http/server/request.hpp — one HTTP request, as a handler sees it.
//
//   r.post("/orders/{id}/items", [](hs::request& req) {
//     std::string_view id = req.param("id");            // from the route, percent-decoded
//     auto limit = req.query_param("limit");            // std::optional<std::string>
//     boost::json::value item = req.json();             // 400 if the body is not JSON
//     std::string_view agent = req.header(hs::field::user_agent);
//     ...
//   });
//
// The request owns its header and its whole body (read before the handler runs, bounded by
// options::max_body_bytes, chunked bodies already decoded). It lives until the handler's
// response has been written. Handlers may modify it (middleware does: request ids); the
// underlying Beast message is reachable through message().
//
// Header lookups are case-insensitive and return the first field of that name, or an empty
// view when there is none. Views stay valid while the request lives and is not modified.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "balrog/http/server/errors.hpp"
#include "balrog/net/endpoint.hpp"

namespace balrog::http::server {

using verb = boost::beast::http::verb;
using field = boost::beast::http::field;

class request {
 public:
  using message_type = boost::beast::http::request<boost::beast::http::string_body>;

  request() = default;
  // A request from a Beast message (tests; the server builds its own).
  explicit request(message_type message, net::endpoint remote = {});

  // GET, POST... verb::unknown for a method Beast has no name for: see method_string().
  [[nodiscard]] verb method() const noexcept { return message_.method(); }
  [[nodiscard]] std::string_view method_string() const noexcept;
  // The request target as sent: "/a%20b/c?x=1".
  [[nodiscard]] std::string_view target() const noexcept;
  // The target's path, still percent-encoded ("/a%20b/c"); "*" for OPTIONS *.
  [[nodiscard]] std::string_view path() const noexcept;
  // The target's query, without the '?' ("x=1"); empty when there is none.
  [[nodiscard]] std::string_view query() const noexcept;
  // The first query parameter called `name`, percent-decoded ('+' is a space), or nullopt.
  // A parameter without '=' ("?flag") has the empty value.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  // 10 for HTTP/1.0, 11 for HTTP/1.1.
  [[nodiscard]] unsigned version() const noexcept { return message_.version(); }
  // Whether the client asked to keep the connection open (HTTP/1.1 without "Connection:
  // close", or HTTP/1.0 with "Connection: keep-alive").
  [[nodiscard]] bool keep_alive() const { return message_.keep_alive(); }

  [[nodiscard]] std::string_view header(field name) const;
  [[nodiscard]] std::string_view header(std::string_view name) const;
  [[nodiscard]] bool has_header(field name) const { return message_.count(name) != 0; }
  [[nodiscard]] const boost::beast::http::fields& headers() const noexcept { return message_; }

  // The body, decoded from chunked transfer coding if it was; empty when there was none.
  [[nodiscard]] const std::string& body() const noexcept { return message_.body(); }
  // The body parsed as JSON. Throws http_error(400 Bad Request) saying where the text is not
  // JSON (the client then gets that 400).
  [[nodiscard]] boost::json::value json() const;

  // The route parameter `name` ("/orders/{id}": param("id")), percent-decoded. Throws
  // usage_error when the matched route has no such parameter (a typo in the handler).
  [[nodiscard]] std::string_view param(std::string_view name) const;
  // Every route parameter, in the pattern's order.
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& params() const noexcept {
    return params_;
  }

  // The client's address (empty for a request that did not come from a socket).
  [[nodiscard]] const net::endpoint& remote_endpoint() const noexcept { return remote_; }
  // The request id given by the request_id middleware (balrog/http/server/middleware.hpp);
  // empty without it.
  [[nodiscard]] const std::string& id() const noexcept { return id_; }
  void set_id(std::string id) { id_ = std::move(id); }

  // The Beast message: every field, the raw body, set/erase.
  [[nodiscard]] message_type& message() noexcept { return message_; }
  [[nodiscard]] const message_type& message() const noexcept { return message_; }

  // The router's part: the matched route's parameters (replaces them).
  void set_params(std::vector<std::pair<std::string, std::string>> params) {
    params_ = std::move(params);
  }

 private:
  message_type message_;
  std::vector<std::pair<std::string, std::string>> params_;
  net::endpoint remote_;
  std::string id_;
};

// Percent-decodes `text` ("%41" -> "A"); with plus_is_space, '+' becomes ' ' (query strings
// and forms). A '%' not followed by two hex digits is kept as it is. Never throws for any
// input (allocation aside).
[[nodiscard]] std::string percent_decode(std::string_view text, bool plus_is_space = false);

}  // namespace balrog::http::server
