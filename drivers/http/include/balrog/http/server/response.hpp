// balrog/http/server/response.hpp — what a handler answers.
//
//   return hs::response::text("hello\n");
//   return hs::response::json({{"id", 7}, {"state", "baking"}}, hs::status::created);
//   hs::response r(hs::status::see_other);
//   r.set(hs::field::location, "/orders/7");
//   return r;
//
//   // A body produced while it is sent (chunked transfer coding, or close-delimited for an
//   // HTTP/1.0 client): the producer runs on the connection's fiber after the header is sent,
//   // and each write() reaches the client at once (server-sent events, large exports).
//   return hs::response::stream([](hs::chunk_writer& out) {
//     for (int i = 0; i < 3; ++i) { out.write("tick\n"); balrog::this_fiber::sleep_for(1s); }
//   }, "text/plain");
//
// Files are answered by serve_file() (balrog/http/server/static_files.hpp): sendfile(2),
// Range, conditional requests.
//
// The server completes every response before writing it: Content-Length (or chunked coding
// for streams), Date, Server (options::server_name), Connection (keep-alive or close, from the
// request, the response's own Connection header, and shutdown), the request's HTTP version.
// For HEAD requests it sends the header of the response the GET handler gave, without a body.
// A response is move-only (it may own an open file).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "balrog/http/server/errors.hpp"

namespace balrog::http::server {

using field = boost::beast::http::field;

// The writing end of a streamed body, given to the producer of response::stream().
class chunk_writer {
 public:
  virtual ~chunk_writer() = default;
  // Sends `data` as one chunk (or raw, to an HTTP/1.0 client) before returning. Empty data
  // sends nothing (an empty chunk would end the body). Throws balrog::io_error when the
  // client has gone and timeout_error when it does not read for options::write_timeout: let
  // either propagate, the connection is then dropped.
  virtual void write(std::string_view data) = 0;
};

namespace detail {
// A file descriptor closed on destruction (an open file of a file response).
class owned_fd {
 public:
  owned_fd() noexcept = default;
  explicit owned_fd(int fd) noexcept : fd_(fd) {}
  owned_fd(owned_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  owned_fd& operator=(owned_fd&& other) noexcept;
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  ~owned_fd();
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// The bytes [offset, offset + length) of an open file.
struct file_part {
  owned_fd file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
using stream_producer = std::function<void(chunk_writer&)>;
// The marker of a WebSocket route's 101 answer (see router::websocket()).
struct websocket_upgrade {};
}  // namespace detail

class response {
 public:
  using message_type = boost::beast::http::response<boost::beast::http::string_body>;

  // An empty response with that status (no Content-Type, Content-Length 0).
  explicit response(status code = status::ok);
  // A response with a body and its Content-Type.
  response(status code, std::string body, std::string_view content_type);

  // text/plain; charset=utf-8
  [[nodiscard]] static response text(std::string body, status code = status::ok);
  // text/html; charset=utf-8
  [[nodiscard]] static response html(std::string body, status code = status::ok);
  // application/json, serialized by Boost.JSON.
  [[nodiscard]] static response json(const boost::json::value& body, status code = status::ok);
  // A body produced while it is sent (see above). The producer may block (it runs on the
  // connection's fiber); if it throws, the connection is dropped mid-body, which is how a
  // client learns that a streamed body failed.
  [[nodiscard]] static response stream(std::function<void(chunk_writer&)> producer,
                                       std::string_view content_type, status code = status::ok);
  // The bytes [offset, offset + length) of `file` (an open regular file, adopted: closed by
  // the response), sent with sendfile(2). serve_file() builds these; this is its building block.
  [[nodiscard]] static response file(int fd, std::uint64_t offset, std::uint64_t length,
                                     std::string_view content_type, status code = status::ok);

  response(response&&) noexcept = default;
  response& operator=(response&&) noexcept = default;
  response(const response&) = delete;
  response& operator=(const response&) = delete;
  ~response() = default;

  [[nodiscard]] status code() const noexcept { return message_.result(); }
  void set_code(status code) { message_.result(code); }

  // Sets a header field, replacing every field of that name.
  void set(field name, std::string_view value) { message_.set(name, value); }
  void set(std::string_view name, std::string_view value) { message_.set(name, value); }
  // The first field of that name, or an empty view.
  [[nodiscard]] std::string_view header(field name) const;
  [[nodiscard]] std::string_view header(std::string_view name) const;

  // The body of a text, html, json or plain response (empty for file and stream responses).
  [[nodiscard]] std::string& body() noexcept { return message_.body(); }
  [[nodiscard]] const std::string& body() const noexcept { return message_.body(); }
  // The size of the body the client will get: the text, the file part; -1 for a stream.
  [[nodiscard]] std::int64_t body_size() const noexcept;

  // The Beast message (status, fields, text body).
  [[nodiscard]] message_type& message() noexcept { return message_; }
  [[nodiscard]] const message_type& message() const noexcept { return message_; }

  // What kind of body this is; the server's writer reads it.
  using body_kind = std::variant<std::monostate, detail::file_part, detail::stream_producer,
                                 detail::websocket_upgrade>;
  [[nodiscard]] body_kind& special_body() noexcept { return special_; }
  [[nodiscard]] bool is_websocket_upgrade() const noexcept {
    return std::holds_alternative<detail::websocket_upgrade>(special_);
  }
  // The 101 placeholder a WebSocket route's next() returns inside middleware (router.hpp).
  [[nodiscard]] static response websocket_upgrade();

 private:
  message_type message_;
  body_kind special_;
};

}  // namespace balrog::http::server
