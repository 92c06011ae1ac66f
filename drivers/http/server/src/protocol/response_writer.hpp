// Writes responses: completes the header (version, Date, Server, Content-Length or chunked
// coding, Connection), serializes it with Beast's fields writer, then sends the body: a text body
// from memory, a file part with sendfile, or a stream as Beast-made chunks.
//
// Small responses wait in an output buffer, so that answers to pipelined requests leave in one
// write; the connection flushes before it waits to read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "balrog/http/server/options.hpp"
#include "balrog/http/server/response.hpp"
#include "protocol/transport.hpp"

namespace balrog::http::server::detail {

// What the writer needs to know about the request it answers.
struct reply_context {
  unsigned version = 11;   // 10 or 11
  bool head = false;       // HEAD: the header only
  bool keep_alive = true;  // the connection may stay open after this response
};

class response_writer {
 public:
  response_writer(transport& t, const options& o) noexcept : transport_(t), options_(o) {}

  // Completes and writes `res`. Returns whether the connection stays open after it (false
  // when the context or the response says close, or a stream to an HTTP/1.0 client ends with
  // the connection). A stream's producer runs here; what it throws propagates (the body is
  // then cut short: drop the connection).
  bool write(response& res, const reply_context& ctx);
  // "HTTP/1.1 100 Continue", sent at once.
  void write_continue();
  // Sends what waits in the output buffer.
  void flush();
  [[nodiscard]] bool has_pending() const noexcept { return !pending_.empty(); }

 private:
  // What complete() decided: whether the connection stays open, and the Content-Length to
  // send (none for streams, 1xx, 204 and 304).
  struct framing {
    bool keep_alive = true;
    std::optional<std::uint64_t> content_length;
  };
  framing complete(response& res, const reply_context& ctx);
  void write_stream(const detail::stream_producer& producer, bool chunked);

  transport& transport_;
  const options& options_;
  std::string pending_;
};

}  // namespace balrog::http::server::detail
