#include "protocol/response_writer.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <charconv>
#include <optional>
#include <variant>

#include "protocol/http_date.hpp"

namespace balrog::http::server::detail {

namespace beast_http = boost::beast::http;

namespace {

// Bodies up to this size are copied behind their header (one write for both); larger ones
// are written from where they are.
constexpr std::size_t copy_body_limit = 16 * 1024;
// The output buffer is flushed when it grows past this (many pipelined answers).
constexpr std::size_t pending_limit = 64 * 1024;

template <class Buffers>
void append_buffers(std::string& out, const Buffers& buffers) {
  for (const auto b : boost::beast::buffers_range_ref(buffers)) {
    out.append(static_cast<const char*>(b.data()), b.size());
  }
}

// Serializes the status line and the fields of `message` with Beast's fields writer (the
// serializer's own header step, without its buffer-sequence adapters, which cost more than
// the copy), leaving off the header's final CRLF.
template <class Fields>
void serialize_header_start(const Fields& message, unsigned version, unsigned code,
                            std::string& out) {
  const typename Fields::writer w(message, version, code);
  const auto buffers = w.get();
  const std::size_t n = boost::beast::buffer_bytes(buffers);
  const std::size_t at = out.size();
  out.resize(at + n);
  boost::asio::buffer_copy(boost::asio::mutable_buffer(out.data() + at, n), buffers);
  out.resize(out.size() - 2);  // the empty line ending the header: written by the caller
}

// The fields the server adds to every response — Content-Length, Server, Date — are written
// straight behind Beast's part of the header instead of being inserted into the message's
// field list (two allocations and a tree insertion each, on every response). A handler that
// set Server or Date keeps its own.
void append_server_fields(std::string& out, const response::message_type& message, const options& o,
                          std::optional<std::uint64_t> content_length) {
  if (content_length) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, *content_length).ptr;
    out += "Content-Length: ";
    out.append(digits, end);
    out += "\r\n";
  }
  if (!o.server_name.empty() && message.count(beast_http::field::server) == 0) {
    out += "Server: ";
    out += o.server_name;
    out += "\r\n";
  }
  if (message.count(beast_http::field::date) == 0) {
    out += "Date: ";
    out += http_date_now();
    out += "\r\n";
  }
  out += "\r\n";
}

bool is_bodiless(status code) noexcept {
  const auto n = static_cast<unsigned>(code);
  return (n >= 100 && n < 200) || code == status::no_content || code == status::not_modified;
}

// The body writer of response::stream(): each write() is one chunk (HTTP/1.1) or raw bytes
// (HTTP/1.0, close-delimited), sent at once.
class stream_writer final : public chunk_writer {
 public:
  stream_writer(transport& t, std::chrono::milliseconds stall, bool chunked) noexcept
      : transport_(t), stall_(stall), chunked_(chunked) {}
  void write(std::string_view data) override {
    if (data.empty()) return;
    if (!chunked_) {
      transport_.write_all(data, stall_);
      return;
    }
    scratch_.clear();
    append_buffers(scratch_,
                   beast_http::make_chunk(boost::asio::const_buffer(data.data(), data.size())));
    transport_.write_all(scratch_, stall_);
  }

 private:
  transport& transport_;
  std::chrono::milliseconds stall_;
  bool chunked_;
  std::string scratch_;
};

}  // namespace

response_writer::framing response_writer::complete(response& res, const reply_context& ctx) {
  auto& message = res.message();
  message.version(ctx.version);
  // The handler may close the connection with "Connection: close"; otherwise the request
  // decides (message.keep_alive() would say false for any HTTP/1.0 response).
  const auto connection = message[beast_http::field::connection];
  framing f;
  f.keep_alive =
      ctx.keep_alive && (connection.empty() || !beast_http::token_list{connection}.exists("close"));
  auto& body = res.special_body();
  const bool has_length = message.count(beast_http::field::content_length) != 0;
  if (is_bodiless(message.result())) {
    message.body().clear();
    if (message.result() != status::not_modified && has_length) {
      message.erase(beast_http::field::content_length);
    }
    message.erase(beast_http::field::transfer_encoding);
  } else {
    if (has_length) message.erase(beast_http::field::content_length);  // the server's to say
    if (auto* part = std::get_if<detail::file_part>(&body)) {
      f.content_length = part->length;
    } else if (std::holds_alternative<detail::stream_producer>(body)) {
      if (ctx.version >= 11) {
        message.chunked(true);
      } else {
        // HTTP/1.0 has no chunked coding: the end of the body is the end of the connection.
        f.keep_alive = false;
      }
    } else {
      f.content_length = message.body().size();
    }
  }
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes unless told.
  if (ctx.version < 11 || !f.keep_alive || !connection.empty()) message.keep_alive(f.keep_alive);
  return f;
}

bool response_writer::write(response& res, const reply_context& ctx) {
  const framing f = complete(res, ctx);
  const bool keep_alive = f.keep_alive;
  auto& message = res.message();
  serialize_header_start(static_cast<const beast_http::fields&>(message), message.version(),
                         message.result_int(), pending_);
  append_server_fields(pending_, message, options_, f.content_length);
  if (ctx.head || is_bodiless(message.result())) {
    // header only
  } else if (auto* part = std::get_if<detail::file_part>(&res.special_body())) {
    flush();
    transport_.send_file(part->file.get(), part->offset, part->length, options_.write_timeout);
  } else if (auto* producer = std::get_if<detail::stream_producer>(&res.special_body())) {
    flush();
    write_stream(*producer, ctx.version >= 11);
  } else if (message.body().size() <= copy_body_limit) {
    pending_ += message.body();
  } else {
    flush();
    transport_.write_all(message.body(), options_.write_timeout);
  }
  if (!keep_alive || pending_.size() >= pending_limit) flush();
  return keep_alive;
}

void response_writer::write_stream(const detail::stream_producer& producer, bool chunked) {
  stream_writer out(transport_, options_.write_timeout, chunked);
  if (producer) producer(out);
  if (chunked) {
    append_buffers(pending_, beast_http::make_chunk_last());
    flush();
  }
}

void response_writer::write_continue() {
  pending_ += "HTTP/1.1 100 Continue\r\n\r\n";  // no fields: nothing for Beast to add
  flush();
}

void response_writer::flush() {
  if (pending_.empty()) return;
  // On failure the connection is dropped; clear first so nothing is sent twice.
  std::string out = std::move(pending_);
  pending_.clear();
  transport_.write_all(out, options_.write_timeout);
  if (pending_.capacity() == 0) {
    out.clear();
    pending_ = std::move(out);  // keep the buffer's memory for the next response
  }
}

}  // namespace balrog::http::server::detail
