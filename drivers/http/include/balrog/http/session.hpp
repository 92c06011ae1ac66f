// balrog/http/session.hpp — requests that share settings and cookies (python-requests'
// Session).
//
//   http::session api({.base_url = "https://api.example.org/v1/",
//                      .headers = {{"Authorization", "Bearer " + token}},
//                      .timeout = 10s});
//   auto r = co_await api.get("items/7");            // https://api.example.org/v1/items/7
//   http::request_options o;
//   o.json = boost::json::object{{"qty", 2}};
//   auto created = co_await api.post("orders", std::move(o));
//
// A session holds defaults (session_options: base URL, headers, timeouts, redirects, proxy,
// TLS) that every request through it uses unless its request_options say otherwise, and a
// cookie jar: cookies the servers set are sent back on later requests that match them (domain,
// path, expiry, Secure), as a browser would. Connections are not the session's: every request
// of a thread goes through that thread's connection cache (balrog/http/client.hpp), whichever
// session it comes from.
//
// Fibers and coroutines of every shard may share a session (by reference; it must outlive its
// requests). The cookie jar is locked; options() is not: change it before sharing the session,
// or only between requests on one thread.
//
// Every request method is a coroutine (co_await it); the blocking-style twins take the session
// first: balrog::http::blocking::get(api, "items/7") (balrog/http/generated/
// client_blocking.hpp). For each method there are two overloads, without and with
// request_options, so that no braced temporary is needed inside co_await (GCC 12: see
// request.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "balrog/http/request.hpp"
#include "balrog/http/response.hpp"
#include "balrog/task.hpp"

namespace balrog::http {

struct session_options {
  // Relative request URLs ("items/7", "/health") are resolved against this one (RFC 3986: keep
  // the trailing slash of a base path to append to it). Empty: every URL must be absolute.
  std::string base_url{};
  // Sent with every request (request_options::headers can replace one).
  fields headers{};
  // The whole request, redirects included, from start to the last byte of the body (not for
  // streaming responses, whose body takes as long as the reader does). 0: no limit.
  std::chrono::milliseconds timeout{0};
  // Name resolution plus TCP and TLS handshakes, per connection. 0: libcurl's 300 s.
  std::chrono::milliseconds connect_timeout{10'000};
  // No byte received or sent for this long: http::timeout. Catches servers (and networks) that
  // stall without closing. Time a streaming response spends paused because nobody reads it
  // does not count. Checked when the request (or the stream's reader) waits. 0: no limit.
  std::chrono::milliseconds idle_timeout{60'000};
  // Follow 3xx redirects (POST becomes GET after 301, 302 and 303, as browsers do), at most
  // max_redirects of them (more: too_many_redirects).
  bool allow_redirects = true;
  long max_redirects = 30;
  // "http://proxy:3128", "socks5h://proxy:1080"... Empty: the environment's http_proxy,
  // https_proxy and no_proxy (as curl and python-requests do). "-": no proxy at all.
  std::string proxy{};
  tls_options tls{};
  // A response body kept in memory larger than this fails with body_too_large (the transfer
  // stops there). Streamed bodies (stream, on_chunk, body_channel) are not limited. 0: no
  // limit.
  std::size_t max_response_bytes = std::size_t{64} << 20;
  // Ask for compressed bodies (Accept-Encoding: every encoding libcurl can decode) and decode
  // them. false: bodies come as the server sends them.
  bool decompress = true;
  http_version version = http_version::automatic;
  // The User-Agent header (a request header of that name wins).
  std::string user_agent{"balrog-http/0.1"};
  // Keep cookies the servers set, and send them back (the session's cookie jar). The free
  // functions of client.hpp keep none.
  bool cookies = true;
};

// A cookie in the jar.
struct cookie {
  std::string domain;  // "example.org"; a leading "." or include_subdomains: for subdomains too
  bool include_subdomains = false;
  std::string path;  // "/"
  bool secure = false;
  std::chrono::system_clock::time_point expires{};  // the epoch: a session cookie
  std::string name;
  std::string value;
};

namespace detail {
struct session_state;
}

class session {
 public:
  explicit session(session_options options = {});
  session(session&&) noexcept;
  session& operator=(session&&) noexcept;
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();

  // The defaults of this session's requests (see the top of this file about sharing).
  [[nodiscard]] session_options& options() noexcept;
  [[nodiscard]] const session_options& options() const noexcept;

  // `method` is sent as given ("GET", "PROPFIND"). Throws what balrog/http/error.hpp lists,
  // usage_error for more than one body in `options`, balrog::timeout_error for an enclosing
  // deadline_scope, cancelled.
  task<response> request(std::string method, std::string url);
  task<response> request(std::string method, std::string url, request_options options);
  task<response> get(std::string url);
  task<response> get(std::string url, request_options options);
  task<response> head(std::string url);
  task<response> head(std::string url, request_options options);
  task<response> post(std::string url);
  task<response> post(std::string url, request_options options);
  task<response> put(std::string url);
  task<response> put(std::string url, request_options options);
  task<response> patch(std::string url);
  task<response> patch(std::string url, request_options options);
  task<response> delete_(std::string url);
  task<response> delete_(std::string url, request_options options);

  // The cookie jar. Not coroutines: they never wait.
  [[nodiscard]] std::vector<cookie> cookies() const;
  // Adds or replaces a cookie (same domain, path and name).
  void set_cookie(const cookie& c);
  void clear_cookies();

 private:
  std::shared_ptr<detail::session_state> state_;
};

}  // namespace balrog::http
