#include "protocol/response_writer.hpp"

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/serializer.hpp>
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

// Serializes the header of `message` (not its body) into `out` with Beast's serializer.
template <class Body>
void serialize_header(beast_http::response<Body>& message, std::string& out) {
  beast_http::serializer<false, Body> sr{message};
  sr.split(true);
  boost::system::error_code ec;
  while (!ec && !sr.is_header_done()) {
    sr.next(ec, [&](boost::system::error_code& step_ec, const auto& buffers) {
      step_ec = {};
      const std::size_t before = out.size();
      append_buffers(out, buffers);
      sr.consume(out.size() - before);
    });
  }
  // The header serializer of an in-memory message does not fail.
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

bool response_writer::complete(response& res, const reply_context& ctx) {
  auto& message = res.message();
  message.version(ctx.version);
  if (!options_.server_name.empty()) message.set(beast_http::field::server, options_.server_name);
  message.set(beast_http::field::date, http_date_now());
  // The handler may close the connection with "Connection: close"; otherwise the request
  // decides (message.keep_alive() would say false for any HTTP/1.0 response).
  bool keep_alive = ctx.keep_alive &&
                    !beast_http::token_list{message[beast_http::field::connection]}.exists("close");
  auto& body = res.special_body();
  if (is_bodiless(message.result())) {
    message.body().clear();
    if (message.result() != status::not_modified) message.erase(beast_http::field::content_length);
    message.erase(beast_http::field::transfer_encoding);
  } else if (auto* part = std::get_if<detail::file_part>(&body)) {
    message.content_length(part->length);
  } else if (std::holds_alternative<detail::stream_producer>(body)) {
    if (ctx.version >= 11) {
      message.chunked(true);
    } else {
      // HTTP/1.0 has no chunked coding: the end of the body is the end of the connection.
      message.erase(beast_http::field::content_length);
      keep_alive = false;
    }
  } else {
    message.content_length(message.body().size());
  }
  message.keep_alive(keep_alive);
  return keep_alive;
}

bool response_writer::write(response& res, const reply_context& ctx) {
  const bool keep_alive = complete(res, ctx);
  auto& message = res.message();
  serialize_header(message, pending_);
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
  beast_http::response<beast_http::empty_body> interim{status::continue_, 11};
  serialize_header(interim, pending_);
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
