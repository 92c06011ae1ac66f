// The transport of a real connection: a balrog::net::stream, so the waits are the stream's
// (the fiber's reactor on a fiber, poll(2) on a plain thread in sync mode).
#pragma once

#include "balrog/net/stream.hpp"
#include "protocol/transport.hpp"

namespace balrog::http::server::detail {

class socket_transport final : public transport {
 public:
  explicit socket_transport(net::stream& s) noexcept : stream_(s) {}

  std::size_t read_some(std::span<char> into, deadline until) override;
  void write_all(std::span<const char> from, std::chrono::milliseconds stall) override;
  // sendfile(2) from the page cache into the socket; waits for room as write_all does.
  void send_file(int fd, std::uint64_t offset, std::uint64_t count,
                 std::chrono::milliseconds stall) override;
  void shutdown_send() noexcept override;
  [[nodiscard]] int native_handle() const noexcept override { return stream_.native_handle(); }

 private:
  net::stream& stream_;
};

}  // namespace balrog::http::server::detail
