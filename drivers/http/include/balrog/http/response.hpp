// balrog/http/response.hpp — what a request got back.
//
//   auto r = co_await http::get("https://api.example.org/items/7");
//   r.raise_for_status();                      // throws http::status_error on 4xx / 5xx
//   boost::json::value item = r.json();        // throws http::decode_error
//   if (auto type = r.header("content-type")) ...
//
// A response is a value: status, headers and body, complete when the request returns (unless
// it was made with request_options::stream). Move-only (a streaming response owns its
// transfer); safe to hand to another fiber or thread once complete.
//
// Streaming (request_options::stream = true): the request returns once the final response's
// headers are in (after redirects), and the body is read piece by piece:
//
//   auto r = co_await http::get(url, std::move(streamed));  // streamed.stream = true
//   while (std::optional<std::string> piece = co_await r.next_chunk()) consume(*piece);
//
// The transfer pauses while nobody reads (back-pressure) and belongs to the thread that made
// the request: read it there. Destroying the response before the end abandons the transfer
// (its connection is closed, not reused).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "balrog/deadline.hpp"
#include "balrog/http/request.hpp"
#include "balrog/task.hpp"

namespace balrog::http {

namespace detail {
class transfer;
struct response_access;
}  // namespace detail

class response {
 public:
  // An empty response (status 0), to move into.
  response() noexcept;
  response(response&&) noexcept;
  response& operator=(response&&) noexcept;
  response(const response&) = delete;
  response& operator=(const response&) = delete;
  ~response();

  // The final response's status code (after redirects) and reason phrase ("OK"; HTTP/2 has
  // none: empty).
  [[nodiscard]] int status() const noexcept { return status_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  // Status below 400.
  [[nodiscard]] bool ok() const noexcept { return status() > 0 && status() < 400; }
  // Throws status_error for a 4xx or 5xx status ("balrog::http: 404 Not Found for url: ...").
  void raise_for_status() const;

  // The final response's headers, in the order they came, names as the server wrote them.
  [[nodiscard]] const fields& headers() const noexcept { return headers_; }
  // The first header with this name (case-insensitive), or nullopt.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  // Every header with this name, in order (Set-Cookie, Link...).
  [[nodiscard]] std::vector<std::string_view> header_values(std::string_view name) const;

  // The body as bytes, decompressed (gzip, deflate, brotli, zstd: session_options::
  // decompress), without any character-set conversion. Empty for HEAD, for bodies given to
  // on_chunk or body_channel, and for a streaming response until read_all().
  [[nodiscard]] const std::string& text() const noexcept { return body_; }
  // The body parsed as JSON (Boost.JSON). Throws decode_error naming the offset of the problem.
  [[nodiscard]] boost::json::value json() const;

  // The URL that answered: the request's, or where the redirects led.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  // How many redirects were followed.
  [[nodiscard]] int redirect_count() const noexcept { return redirects_; }
  // "1.0", "1.1", "2" or "3"; empty for an empty response.
  [[nodiscard]] std::string_view http_version() const noexcept { return version_; }
  // From the start of the request until it completed (for a streaming response: until the
  // headers were in).
  [[nodiscard]] std::chrono::microseconds elapsed() const noexcept { return elapsed_; }

  // --- streaming responses --------------------------------------------------------------
  // The next piece of the body, or nullopt at its end. Waits for the network. Throws what a
  // failed request throws (connection_error when the peer hangs up mid-body, timeout...),
  // timeout_error when `until` or an enclosing deadline_scope passes first (the transfer goes
  // on: call again), cancelled. On a complete (not streaming) response: the whole body once,
  // then nullopt.
  [[nodiscard]] task<std::optional<std::string>> next_chunk(deadline until = deadline::never());
  // Reads the rest of the body into text(). Same errors as next_chunk.
  [[nodiscard]] task<void> read_all(deadline until = deadline::never());
  // A streaming response whose body has not been read to the end.
  [[nodiscard]] bool streaming() const noexcept { return transfer_ != nullptr; }

 private:
  friend struct detail::response_access;  // the client fills responses in

  int status_ = 0;
  std::string reason_;
  fields headers_;
  std::string body_;
  std::string url_;
  int redirects_ = 0;
  std::string_view version_;  // a literal
  std::chrono::microseconds elapsed_{};
  bool body_given_ = false;  // next_chunk() on a complete response gave the body already
  std::unique_ptr<detail::transfer> transfer_;  // a streaming response's transfer
};

}  // namespace balrog::http
