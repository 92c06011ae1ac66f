#include "protocol/request_reader.hpp"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <boost/version.hpp>
#include <cctype>
#include <iterator>

#include "balrog/errors.hpp"

namespace balrog::http::server::detail {

namespace beast_http = boost::beast::http;

namespace {

// Whether the request line at the start of `bytes` is "method target HTTP/d.d".
bool names_a_version(std::string_view bytes) {
  const std::string_view line = bytes.substr(0, bytes.find("\r\n"));
  if (line.size() < 9 || std::count(line.begin(), line.end(), ' ') != 2) return false;
  const std::string_view v = line.substr(line.size() - 9);
  return v.starts_with(" HTTP/") && std::isdigit(static_cast<unsigned char>(v[6])) && v[7] == '.' &&
         std::isdigit(static_cast<unsigned char>(v[8]));
}

// Room beyond the header limit, so that the limit, not the buffer, decides (Beast reports
// header_limit itself once it has seen that many bytes without the header's end).
constexpr std::size_t header_slack = 64;
}  // namespace

request_reader::result request_reader::fail(status code, std::string reason) {
  failure_ = code;
  reason_ = std::move(reason);
  return result::failed;
}

request_reader::result request_reader::fail_for(const boost::system::error_code& ec,
                                                std::string_view start) {
  if (ec == beast_http::error::header_limit) {
    // Beast parses the request line as soon as it is complete. If the target is still
    // unknown, the request line alone is longer than the header may be: the URL is too long.
    if (parser_->get().target().empty()) return fail(status::uri_too_long, "URI too long");
    return fail(status::request_header_fields_too_large, "request header too large");
  }
  if (ec == beast_http::error::body_limit) return fail(status::payload_too_large, "body too large");
  if (ec == beast_http::error::bad_version && names_a_version(start)) {
    // Beast reads HTTP/1.x only: a well-formed other version is not supported, not malformed.
    return fail(status::http_version_not_supported, "HTTP version not supported");
  }
  return fail(status::bad_request, "malformed request: " + ec.message());
}

request_reader::result request_reader::check_header() {
  const auto& m = parser_->get();
  if (m.target().size() > options_.max_url_bytes) return fail(status::uri_too_long, "URI too long");
  if (m.version() != 10 && m.version() != 11) {
    return fail(status::http_version_not_supported, "HTTP version not supported");
  }
  if (static_cast<std::size_t>(std::distance(m.begin(), m.end())) > options_.max_header_fields) {
    return fail(status::request_header_fields_too_large, "too many header fields");
  }
  if (m.version() == 11 && m.count(beast_http::field::host) == 0) {
    return fail(status::bad_request, "missing Host header");  // RFC 9112 §3.2
  }
  const auto expect = m[beast_http::field::expect];
  if (!expect.empty() && !boost::beast::iequals(expect, "100-continue")) {
    return fail(status::expectation_failed, "unsupported expectation");
  }
  return result::complete;
}

std::size_t request_reader::read_more(deadline until, std::size_t max_buffer) {
  const std::span<char> room = in_.prepare(max_buffer);
  if (room.empty()) return static_cast<std::size_t>(-1);  // full: the caller decides
  const std::size_t n = transport_.read_some(room, until);
  in_.commit(n);
  if (n > 0) any_byte_ = true;
  return n;
}

request_reader::result request_reader::read_header(deadline until) {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
  parser_->body_limit(options_.max_body_bytes);
  parser_->eager(false);  // stop after the header: limits, route and "100 Continue" first
  any_byte_ = !in_.empty();
  const std::size_t max_buffer = options_.max_header_bytes + header_slack;
  for (;;) {
    if (!in_.empty()) {
      boost::system::error_code ec;
      const std::string_view start = in_.data();
      const std::size_t used = parser_->put(boost::asio::buffer(start), ec);
      if (ec && ec != beast_http::error::need_more) return fail_for(ec, start);
      in_.consume(used);
      if (parser_->is_header_done()) return check_header();
      if (parser_->get().target().size() > options_.max_url_bytes) {
        return fail(status::uri_too_long, "URI too long");  // known as soon as the line is
      }
      if (!ec && used > 0) continue;  // parsed a piece; try the rest before reading
    }
    std::size_t n = 0;
    try {
      n = read_more(until, max_buffer);
    } catch (const timeout_error&) {
      if (!any_byte_) return result::closed;  // nothing of a request came: just close
      return fail(status::request_timeout, "request header timeout");
    }
    if (n == static_cast<std::size_t>(-1)) {
      return fail(parser_->get().target().empty() ? status::uri_too_long
                                                  : status::request_header_fields_too_large,
                  "request header too large");
    }
    if (n == 0) return any_byte_ ? fail(status::bad_request, "request cut short") : result::closed;
  }
}

bool request_reader::expects_continue() const {
  const auto& m = parser_->get();
  return m.version() >= 11 && has_body() &&
         boost::beast::iequals(m[beast_http::field::expect], "100-continue");
}

request_reader::result request_reader::read_body(deadline until) {
  parser_->eager(true);
  // A chunk-size line must fit in the buffer too (extensions included).
  const std::size_t max_buffer =
      std::max(options_.read_buffer_bytes, options_.max_header_bytes) + header_slack;
  for (;;) {
    if (!in_.empty() && !trips_beast_final_chunk_assert()) {
      boost::system::error_code ec;
      const std::size_t used = parser_->put(boost::asio::buffer(in_.data()), ec);
      in_.consume(used);
      if (ec && ec != beast_http::error::need_more) return fail_for(ec, {});
      if (parser_->is_done()) return result::complete;
      if (!ec && used > 0) continue;
    }
    std::size_t n = 0;
    try {
      n = read_more(until, max_buffer);
    } catch (const timeout_error&) {
      return fail(status::request_timeout, "request body timeout");
    }
    if (n == static_cast<std::size_t>(-1))
      return fail(status::bad_request, "chunk header too long");
    if (n == 0) {
      // End of stream: a body delimited by the connection's end is complete; any other is not.
      boost::system::error_code ec;
      parser_->put_eof(ec);
      if (!ec && parser_->is_done()) return result::complete;
      return fail(status::bad_request, "request body cut short");
    }
  }
}

bool request_reader::trips_beast_final_chunk_assert() const {
#if BOOST_VERSION < 108600
  // Beast before Boost 1.86 asserts (in builds with assertions) when a chunked body's first
  // chunk is its last ("0\r\n") and the next put() sees exactly four bytes
  // (boostorg/beast#2861): a client sending byte by byte would abort a debug server. Four
  // such bytes never complete a body (the shortest is "0\r\n\r\n"), so wait for a fifth.
  return parser_->chunked() && in_.size() == 4 && in_.data().starts_with("0\r\n");
#else
  return false;
#endif
}

request::message_type request_reader::release() {
  request::message_type m = parser_->release();
  parser_.reset();
  return m;
}

}  // namespace balrog::http::server::detail
