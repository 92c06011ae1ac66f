// Reads one request through Beast's parser (request_parser::put), enforcing the server's
// limits: the header first (so the connection can look the route up, refuse early and answer
// "100 Continue"), then the body. A limit or a malformed request ends in failed with the
// status to answer.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>

#include "balrog/http/server/options.hpp"
#include "balrog/http/server/request.hpp"
#include "protocol/input_buffer.hpp"
#include "protocol/transport.hpp"

namespace balrog::http::server::detail {

class request_reader {
 public:
  enum class result {
    complete,  // the header (or the body) is read
    closed,    // the stream ended before any byte of this request
    failed,    // answer failure_status() and close
  };

  request_reader(transport& t, input_buffer& in, const options& o) noexcept
      : transport_(t), in_(in), options_(o) {}

  // Starts a new request and reads its header, from buffered bytes first, reading until
  // `until` (408 when it passes).
  result read_header(deadline until);
  // After read_header: whether a body follows, and whether the client waits for "100
  // Continue" before sending it (Expect: 100-continue, HTTP/1.1).
  [[nodiscard]] bool has_body() const { return !parser_->is_done(); }
  [[nodiscard]] bool expects_continue() const;
  // Reads the rest of the body until `until` (408 when it passes).
  result read_body(deadline until);

  // The request so far (the header after read_header; everything after read_body).
  [[nodiscard]] const request::message_type& message() const { return parser_->get(); }
  // Hands the request over; the reader is ready for read_header again.
  [[nodiscard]] request::message_type release();

  [[nodiscard]] status failure_status() const noexcept { return failure_; }
  [[nodiscard]] const std::string& failure_reason() const noexcept { return reason_; }

 private:
  result fail(status code, std::string reason);
  // `start`: the bytes the failed put() was given (to tell a bad version from a malformed line).
  result fail_for(const boost::system::error_code& ec, std::string_view start);
  result check_header();
  // Reads more bytes into the buffer (bounded by `max_buffer`). 0: end of stream.
  std::size_t read_more(deadline until, std::size_t max_buffer);
  // Whether put() now would hit a Beast assertion that is wrong (see the definition).
  [[nodiscard]] bool trips_beast_final_chunk_assert() const;

  transport& transport_;
  input_buffer& in_;
  const options& options_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool any_byte_ = false;  // of the current request
  status failure_ = status::bad_request;
  std::string reason_;
};

}  // namespace balrog::http::server::detail
