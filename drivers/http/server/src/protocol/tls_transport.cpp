#include "protocol/tls_transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

#include "balrog/errors.hpp"

namespace balrog::http::server::detail {

std::size_t tls_transport::read_some(std::span<char> into, deadline until) {
  return stream_.read_some(std::as_writable_bytes(into), until);
}

void tls_transport::write_all(std::span<const char> from, std::chrono::milliseconds stall) {
  while (!from.empty()) {
    const std::size_t n = stream_.write_some(std::as_bytes(from), stall);
    from = from.subspan(n);
  }
}

void tls_transport::send_file(int fd, std::uint64_t offset, std::uint64_t count,
                              std::chrono::milliseconds stall) {
  constexpr std::uint64_t piece = 64 * 1024;
  std::vector<char> buffer(static_cast<std::size_t>(std::min(count, piece)));
  while (count > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(count, buffer.size()));
    const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("balrog::http::server: pread(fd " + std::to_string(fd) + ")");
    }
    if (n == 0) {
      // The file is shorter than when its size was read (it was truncated since).
      throw io_error(
          std::make_error_code(std::errc::io_error),
          "balrog::http::server: pread(fd " + std::to_string(fd) + "): the file ended early");
    }
    write_all(std::span<const char>(buffer.data(), static_cast<std::size_t>(n)), stall);
    offset += static_cast<std::uint64_t>(n);
    count -= static_cast<std::uint64_t>(n);
  }
}

void tls_transport::shutdown_send() noexcept {
  try {
    stream_.shutdown(std::chrono::seconds(1));
  } catch (...) {
    // the peer is gone, or does not read: nothing left to tell it
  }
}

}  // namespace balrog::http::server::detail
