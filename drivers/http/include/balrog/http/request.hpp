// balrog/http/request.hpp — what one request sends, and how: request_options.
//
//   http::request_options o;
//   o.params = {{"q", "balrog"}, {"page", "2"}};
//   o.json = boost::json::object{{"name", "ada"}};
//   o.timeout = 5s;
//   auto r = co_await http::post("https://api.example.org/search", std::move(o));
//
// The fields mirror python-requests' keyword arguments (params=, headers=, json=, data=,
// files=, timeout=, allow_redirects=, proxies=, verify=/cert=, stream=). Every std::optional
// left empty takes the session's setting (balrog/http/session.hpp; the free functions of
// balrog/http/client.hpp use a default session_options). Set at most one body: data, json,
// form, multipart or upload_file (usage_error otherwise).
//
// GCC 12: build a request_options in a statement of its own, not as a braced temporary inside
// a co_await expression (`co_await http::get(url, {.params = ...})` miscompiles: see the GCC 12
// caveat in balrog/task.hpp). The blocking-style face (balrog/http/generated/client_blocking.hpp)
// is not a coroutine and takes the braced form happily.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "balrog/sync/channel.hpp"

namespace balrog::http {

// Ordered name/value pairs: headers, query parameters, form fields, cookies. Repeated names
// are kept, in order (two "tag" parameters, two Set-Cookie headers).
using fields = std::vector<std::pair<std::string, std::string>>;

// One part of a multipart/form-data body (python-requests' files=, plus data= fields).
struct multipart_part {
  std::string name{};  // the form field's name
  std::string data{};  // the part's contents, when `file` is empty
  // A file whose contents are the part. libcurl reads it while sending, on the shard's thread
  // (ordinary file reads: fine for local disks, not for slow network filesystems).
  std::string file{};
  // The filename the server sees. Default: none for `data` (a plain form field), the base name
  // for `file`.
  std::string filename{};
  // Default: none for `data`, libcurl's guess from the file's extension for `file`.
  std::string content_type{};
};

// How the server's certificate is checked (python-requests' verify= and cert=).
struct tls_options {
  // Verify the certificate chain and that it names the host. false: anyone on the path can
  // read and change the traffic; for test servers only.
  bool verify = true;
  // Trust anchors (PEM bundle file, hashed directory). Both empty: the system store
  // (/etc/ssl/certs on Debian).
  std::string ca_file{};
  std::string ca_path{};
  // A client certificate (PEM) and its key, for servers that ask for one.
  std::string client_certificate_file{};
  std::string client_key_file{};
};

// A JSON request body, or none (request_options::json). Takes whatever boost::json::value
// takes, and brace lists, as python-requests' json= takes a dict:
//   o.json = {{"name", "ada"}, {"tags", {"a", "b"}}};   // {"name":"ada","tags":["a","b"]}
//   o.json = boost::json::array{1, 2};
class json_body {
 public:
  json_body() noexcept = default;                                // none
  json_body(std::initializer_list<boost::json::value_ref> init)  // NOLINT: implicit on purpose
      : value_(std::in_place, init) {}
  template <class T>
    requires(!std::is_same_v<std::remove_cvref_t<T>, json_body> &&
             std::is_constructible_v<boost::json::value, T &&>)
  json_body(T&& v)  // NOLINT: implicit on purpose
      : value_(std::in_place, std::forward<T>(v)) {}

  [[nodiscard]] bool has_value() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  [[nodiscard]] const boost::json::value& operator*() const noexcept { return *value_; }

 private:
  std::optional<boost::json::value> value_;
};

enum class http_version : unsigned char {
  // HTTP/2 over TLS when the server offers it in ALPN, HTTP/1.1 otherwise (and for http://).
  automatic,
  http1_1,  // never HTTP/2
  // HTTP/2 without TLS and without asking (h2c "prior knowledge"): only for servers known to
  // speak it; over TLS the same as automatic.
  http2_prior_knowledge,
};

struct request_options {
  // Added to the URL's query, URL-encoded ("a b" -> "a%20b"), after what the URL already has.
  fields params{};
  // Sent with the request, after the session's headers; a name the session also sets replaces
  // the session's value (names compare case-insensitively). An empty value removes a header
  // libcurl would otherwise send ({"Accept", ""}). libcurl sets Host, Content-Length and
  // Content-Type (from the body) unless given here.
  fields headers{};
  // Sent in one Cookie header, besides the session's cookie jar.
  fields cookies{};

  // --- the body: at most one --------------------------------------------------------------
  // Raw bytes. Content-Type: application/octet-stream unless `headers` says otherwise.
  std::optional<std::string> data{};
  // Serialized with Boost.JSON; Content-Type: application/json.
  json_body json{};
  // URL-encoded form fields; Content-Type: application/x-www-form-urlencoded.
  std::optional<fields> form{};
  // multipart/form-data (fields and files); libcurl writes the boundary.
  std::vector<multipart_part> multipart{};
  // The body is this file's contents, read by libcurl while sending (as multipart_part::file).
  std::string upload_file{};

  // HTTP Basic credentials (user, password). Not sent again after a redirect to another host.
  std::optional<std::pair<std::string, std::string>> basic_auth{};

  // --- overrides of the session's settings (session_options has the meaning of each) ------
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<std::chrono::milliseconds> connect_timeout{};
  std::optional<std::chrono::milliseconds> idle_timeout{};
  std::optional<bool> allow_redirects{};
  std::optional<long> max_redirects{};
  std::optional<std::string> proxy{};
  std::optional<tls_options> tls{};
  std::optional<std::size_t> max_response_bytes{};
  std::optional<http_version> version{};

  // --- where the response body goes (default: kept in the response, up to
  // max_response_bytes) ------------------------------------------------------------------
  // The request completes once the response's headers are in; read the body with
  // response::next_chunk() (python-requests' stream=True + iter_content). max_response_bytes
  // does not apply.
  bool stream = false;
  // Each piece of the body as it arrives, in order; the response's text() stays empty. It runs
  // where the request is awaited: in coroutine code (a blocking-style call inside it throws
  // usage_error). An exception it throws stops the transfer and comes out of the request. To
  // do blocking work per chunk, use body_channel and consume the channel from a fiber, or
  // stream = true and next_chunk() on a fiber.
  std::function<void(std::string_view)> on_chunk{};
  // Each piece of the body is pushed into this channel as it arrives, waiting for room when it
  // is full (back-pressure: the transfer pauses). The channel is closed after the last piece,
  // also when the request fails. It must outlive the request.
  channel<std::string>* body_channel = nullptr;
};

}  // namespace balrog::http
