// A transport over memory, for the request-path fuzzer and the connection's unit tests: the
// connection reads `input` (in pieces of the given sizes, to exercise partial reads) and then
// the end of the stream; what it writes collects in output(). Nothing ever waits, so
// deadlines play no part. send_file copies with pread(2).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "balrog/errors.hpp"
#include "protocol/transport.hpp"

namespace balrog::http::server::detail {

class memory_transport final : public transport {
 public:
  explicit memory_transport(std::string input, std::vector<std::size_t> pieces = {})
      : input_(std::move(input)), pieces_(std::move(pieces)) {}

  std::size_t read_some(std::span<char> into, deadline /*until*/) override {
    if (position_ >= input_.size() || into.empty()) return 0;
    std::size_t n = std::min(into.size(), input_.size() - position_);
    if (next_piece_ < pieces_.size())
      n = std::min(n, std::max<std::size_t>(pieces_[next_piece_++], 1));
    std::memcpy(into.data(), input_.data() + position_, n);
    position_ += n;
    return n;
  }
  void write_all(std::span<const char> from, std::chrono::milliseconds /*stall*/) override {
    if (send_closed_)
      throw io_error(std::make_error_code(std::errc::broken_pipe), "memory_transport");
    output_.append(from.data(), from.size());
  }
  void send_file(int fd, std::uint64_t offset, std::uint64_t count,
                 std::chrono::milliseconds stall) override {
    char buf[4096];
    while (count > 0) {
      const ssize_t n =
          ::pread(fd, buf, std::min<std::uint64_t>(count, sizeof buf), static_cast<off_t>(offset));
      if (n <= 0)
        throw io_error(std::make_error_code(std::errc::io_error), "memory_transport pread");
      write_all({buf, static_cast<std::size_t>(n)}, stall);
      offset += static_cast<std::uint64_t>(n);
      count -= static_cast<std::uint64_t>(n);
    }
  }
  void shutdown_send() noexcept override { send_closed_ = true; }

  [[nodiscard]] const std::string& output() const noexcept { return output_; }
  [[nodiscard]] bool send_closed() const noexcept { return send_closed_; }

 private:
  std::string input_;
  std::vector<std::size_t> pieces_;
  std::size_t next_piece_ = 0;
  std::size_t position_ = 0;
  std::string output_;
  bool send_closed_ = false;
};

}  // namespace balrog::http::server::detail
