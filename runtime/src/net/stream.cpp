#include "balrog/net/stream.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/net/resolve.hpp"
#include "net/drive.hpp"
#include "net/operations.hpp"

namespace balrog::net {

namespace {

// The fd of `u` (held open for a call that never waits), or io_error "stream is closed".
int open_fd(const detail::owned_socket::use& u, const char* call) {
  const int fd = u.fd();
  if (fd < 0) detail::throw_closed(call, "stream");
  return fd;
}

std::span<const std::byte> bytes_of(std::string_view text) noexcept {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

// getpeername(2) when `peer`, else getsockname(2).
endpoint socket_name(int fd, const char* call, bool peer) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  auto* address = reinterpret_cast<sockaddr*>(&storage);
  if ((peer ? ::getpeername(fd, address, &length) : ::getsockname(fd, address, &length)) != 0) {
    throw_errno(detail::describe_call(call, fd));
  }
  return endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
}

}  // namespace

stream::stream(int fd) {
  constexpr const char* call = "balrog::net::stream::stream";
  if (fd < 0) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                   detail::describe_call(call, fd));
  }
  int type = 0;
  socklen_t length = sizeof type;
  // EBADF for a closed fd, ENOTSOCK for a file or pipe.
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    throw_errno(detail::describe_call(call, fd));
  }
  if (type != SOCK_STREAM) {
    throw usage_error(detail::describe_call(call, fd) + ": not a stream socket");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)) {
    throw_errno(detail::describe_call(call, fd) + ": fcntl(O_NONBLOCK)");
  }
  socket_ = detail::owned_socket(fd);
}

std::size_t stream::read_some(std::span<std::byte> into, deadline until) {
  detail::read_some_op op{.buffer = into};
  return detail::drive_blocking(socket_, op, until);
}

void stream::wait_readable(deadline until) {
  detail::wait_readable_op op;
  detail::drive_blocking(socket_, op, until);
}

void stream::read_exact(std::span<std::byte> into, deadline until) {
  detail::read_exact_op op{.buffer = into, .count_queued = counts_queued_};
  detail::drive_blocking(socket_, op, until);
}

std::string stream::read_exact(std::size_t n, deadline until) {
  std::string s(n, '\0');
  read_exact(std::as_writable_bytes(std::span<char>(s)), until);
  return s;
}

std::size_t stream::write_some(std::span<const std::byte> from, deadline until) {
  detail::write_some_op op{.buffer = from};
  return detail::drive_blocking(socket_, op, until);
}

std::size_t stream::write_some(std::string_view from, deadline until) {
  return write_some(bytes_of(from), until);
}

void stream::write_all(std::span<const std::byte> from, deadline until) {
  detail::write_all_op op{.buffer = from};
  detail::drive_blocking(socket_, op, until);
}

void stream::write_all(std::string_view from, deadline until) { write_all(bytes_of(from), until); }

// The coroutine forms: the same operations, driven by drive_async instead of drive_blocking.
// Not coroutines themselves (one frame per call: drive_async's), except where a result needs
// shaping after the operation.

task<std::size_t> stream::async_read_some(std::span<std::byte> into, deadline until) {
  return detail::drive_async(socket_, detail::read_some_op{.buffer = into}, until);
}

task<void> stream::async_wait_readable(deadline until) {
  return detail::drive_async(socket_, detail::wait_readable_op{}, until);
}

task<void> stream::async_read_exact(std::span<std::byte> into, deadline until) {
  return detail::drive_async(
      socket_, detail::read_exact_op{.buffer = into, .count_queued = counts_queued_}, until);
}

task<std::string> stream::async_read_exact(std::size_t n, deadline until) {
  std::string s(n, '\0');
  co_await async_read_exact(std::as_writable_bytes(std::span<char>(s)), until);
  co_return s;
}

task<std::size_t> stream::async_write_some(std::span<const std::byte> from, deadline until) {
  return detail::drive_async(socket_, detail::write_some_op{.buffer = from}, until);
}

task<std::size_t> stream::async_write_some(std::string_view from, deadline until) {
  return async_write_some(bytes_of(from), until);
}

task<void> stream::async_write_all(std::span<const std::byte> from, deadline until) {
  return detail::drive_async(socket_, detail::write_all_op{.buffer = from}, until);
}

task<void> stream::async_write_all(std::string_view from, deadline until) {
  return async_write_all(bytes_of(from), until);
}

void stream::shutdown(shutdown_how how) {
  constexpr const char* call = "balrog::net::stream::shutdown";
  const detail::owned_socket::use in_use(socket_);
  const int fd = open_fd(in_use, call);
  const int h = how == shutdown_how::read    ? SHUT_RD
                : how == shutdown_how::write ? SHUT_WR
                                             : SHUT_RDWR;
  if (::shutdown(fd, h) != 0) throw_errno(detail::describe_call(call, fd));
}

void stream::set_nodelay(bool on) {
  constexpr const char* call = "balrog::net::stream::set_nodelay";
  const detail::owned_socket::use in_use(socket_);
  const int fd = open_fd(in_use, call);
  int domain = 0;
  socklen_t length = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0) {
    throw_errno(detail::describe_call(call, fd));
  }
  if (domain == AF_UNIX) return;
  const int value = on ? 1 : 0;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) != 0) {
    throw_errno(detail::describe_call(call, fd));
  }
}

endpoint stream::local_endpoint() const {
  constexpr const char* call = "balrog::net::stream::local_endpoint";
  const detail::owned_socket::use in_use(socket_);
  return socket_name(open_fd(in_use, call), call, false);
}

endpoint stream::remote_endpoint() const {
  constexpr const char* call = "balrog::net::stream::remote_endpoint";
  const detail::owned_socket::use in_use(socket_);
  return socket_name(open_fd(in_use, call), call, true);
}

stream connect(const endpoint& to, deadline until) {
  stream s(stream::adopt_t{}, detail::connect_op::open_for(to), to.is_ip());
  detail::connect_op op{.to = &to};
  detail::drive_blocking(s.socket_, op, until);
  return s;
}

namespace detail {

// async_connect(endpoint): connect() above, co_awaiting. `to` lives in the frame, where the
// operation points to it.
task<stream> connect_task(endpoint to, deadline until) {
  stream s(stream::adopt_t{}, connect_op::open_for(to), to.is_ip());
  const connect_op op{.to = &to};
  co_await drive_async(s.socket_, op, until);
  co_return s;
}

namespace {

// async_connect(host, port): connect(host, port) below, co_awaiting.
task<stream> connect_to_host(std::string host, std::uint16_t port, deadline until) {
  std::vector<endpoint> candidates = co_await async_resolve(host, port, until);
  connect_attempts plan(std::move(host), port, std::move(candidates), until);
  while (const endpoint* ep = plan.next()) {
    try {
      co_return co_await connect_task(*ep, until);
    } catch (const timeout_error&) {
      plan.timed_out();
    } catch (const io_error& e) {
      plan.failed(e);
    }
  }
  plan.give_up();
}

}  // namespace

}  // namespace detail

// Not coroutines: the arguments are copied into the task's frame here, so that nothing the
// caller's co_await statement creates must outlive the statement.
task<stream> async_connect(const endpoint& to, deadline until) {
  return detail::connect_task(to, until);
}

task<stream> async_connect(std::string host, std::uint16_t port, deadline until) {
  return detail::connect_to_host(std::move(host), port, until);
}

stream connect(std::string host, std::uint16_t port, deadline until) {
  std::vector<endpoint> candidates = resolve(host, port, until);
  detail::connect_attempts plan(std::move(host), port, std::move(candidates), until);
  while (const endpoint* ep = plan.next()) {
    try {
      return connect(*ep, until);
    } catch (const timeout_error&) {
      plan.timed_out();
    } catch (const io_error& e) {
      plan.failed(e);
    }
  }
  plan.give_up();
}

}  // namespace balrog::net
