// The byte pipe one HTTP connection runs over. The connection loop (connection/) speaks HTTP
// through this interface only, so the same loop serves a socket on a fiber, a socket on a
// plain thread (sync mode), and an in-memory stream (the request-path fuzzer, unit tests).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "balrog/deadline.hpp"

namespace balrog::http::server::detail {

class transport {
 public:
  virtual ~transport() = default;

  // Reads what is there, waiting until at least one byte is, or `until` passes (throws
  // balrog::timeout_error). Returns 0 at the end of the stream. Throws io_error, cancelled.
  virtual std::size_t read_some(std::span<char> into, deadline until) = 0;
  // Writes every byte. Each wait for room lasts at most `stall` (timeout_error); bytes taken
  // restart it. Throws io_error, cancelled.
  virtual void write_all(std::span<const char> from, std::chrono::milliseconds stall) = 0;
  // Writes bytes [offset, offset + count) of the open file `fd`, with the same waits.
  virtual void send_file(int fd, std::uint64_t offset, std::uint64_t count,
                         std::chrono::milliseconds stall) = 0;
  // Ends the sending direction (after the last response of a closing connection). Never
  // throws.
  virtual void shutdown_send() noexcept = 0;
  // The fd readiness waits can watch, or -1 (in-memory transports).
  [[nodiscard]] virtual int native_handle() const noexcept { return -1; }
};

}  // namespace balrog::http::server::detail
