// The socket of one accepted connection, plain or TLS (options::tls), and the transport the
// HTTP connection loop reads and writes it through. Shared by fiber mode (live_connection)
// and sync mode (thread_connection).
#pragma once

#include <optional>

#include "balrog/deadline.hpp"
#include "balrog/net/stream.hpp"
#include "balrog/net/tls_stream.hpp"
#include "protocol/socket_transport.hpp"
#include "protocol/tls_transport.hpp"

namespace balrog::http::server::detail {

class connection_stream {
 public:
  // `tls`: the server context (HTTPS), or null (plain HTTP). Throws what tls_stream's
  // constructor throws.
  connection_stream(net::stream s, const std::optional<net::tls_context>& tls);
  connection_stream(const connection_stream&) = delete;
  connection_stream& operator=(const connection_stream&) = delete;

  [[nodiscard]] transport& io() noexcept;
  [[nodiscard]] bool is_tls() const noexcept { return tls_on_; }
  // HTTPS: the TLS handshake, until `until`. Plain: nothing. Throws tls_error, io_error,
  // timeout_error, cancelled.
  void handshake(deadline until);
  // The plain stream (empty over TLS, and once moved out for a WebSocket).
  [[nodiscard]] net::stream& plain() noexcept { return plain_; }
  // The TLS stream (closed for plain HTTP, and once moved out for a WebSocket).
  [[nodiscard]] net::tls_stream& tls() noexcept { return tls_; }
  [[nodiscard]] int fd() const noexcept;
  void close() noexcept;

 private:
  bool tls_on_;
  net::stream plain_;
  net::tls_stream tls_;
  socket_transport plain_io_{plain_};
  tls_transport tls_io_{tls_};
};

}  // namespace balrog::http::server::detail
