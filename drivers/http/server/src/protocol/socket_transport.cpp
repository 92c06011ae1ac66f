#include "protocol/socket_transport.hpp"

#include <sys/sendfile.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "balrog/errors.hpp"
#include "balrog/io.hpp"

namespace balrog::http::server::detail {

std::size_t socket_transport::read_some(std::span<char> into, deadline until) {
  return stream_.read_some(std::as_writable_bytes(into), until);
}

void socket_transport::write_all(std::span<const char> from, std::chrono::milliseconds stall) {
  while (!from.empty()) {
    const std::size_t n = stream_.write_some(std::as_bytes(from), stall);
    from = from.subspan(n);
  }
}

void socket_transport::send_file(int fd, std::uint64_t offset, std::uint64_t count,
                                 std::chrono::milliseconds stall) {
  const int socket = stream_.native_handle();
  auto position = static_cast<off_t>(offset);
  // The socket is non-blocking, so sendfile(2) sends what fits and says EAGAIN when nothing
  // does; the wait for room is the fiber's (or, in sync mode, the thread's).
  constexpr std::uint64_t max_per_call = std::uint64_t{1} << 30;
  while (count > 0) {
    const ssize_t n = ::sendfile(socket, fd, &position, std::min(count, max_per_call));
    if (n > 0) {
      count -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) {
      // The file is shorter than when its size was read (it was truncated since).
      throw io_error(
          std::make_error_code(std::errc::io_error),
          "balrog::http::server: sendfile(fd " + std::to_string(fd) + "): the file ended early");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      wait_writable(socket, stall);
      continue;
    }
    throw_errno("balrog::http::server: sendfile(socket fd " + std::to_string(socket) + ")");
  }
}

void socket_transport::shutdown_send() noexcept {
  try {
    stream_.shutdown(net::shutdown_how::write);
  } catch (const io_error&) {
    // the peer is gone already: nothing left to tell it
  }
}

}  // namespace balrog::http::server::detail
