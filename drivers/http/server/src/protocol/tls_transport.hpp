// The transport of an HTTPS connection: a balrog::net::tls_stream, whose waits are the
// stream's (as socket_transport's). Files are read and encrypted (no sendfile(2) through TLS).
#pragma once

#include "balrog/net/tls_stream.hpp"
#include "protocol/transport.hpp"

namespace balrog::http::server::detail {

class tls_transport final : public transport {
 public:
  explicit tls_transport(net::tls_stream& s) noexcept : stream_(s) {}

  std::size_t read_some(std::span<char> into, deadline until) override;
  void write_all(std::span<const char> from, std::chrono::milliseconds stall) override;
  // pread(2) in pieces, each written as write_all does.
  void send_file(int fd, std::uint64_t offset, std::uint64_t count,
                 std::chrono::milliseconds stall) override;
  // close_notify, bounded by a second (the peer may not read).
  void shutdown_send() noexcept override;
  [[nodiscard]] int native_handle() const noexcept override {
    return stream_.next_layer().native_handle();
  }

 private:
  net::tls_stream& stream_;
};

}  // namespace balrog::http::server::detail
