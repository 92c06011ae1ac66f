// The sans-IO core of balrog::net: single non-blocking attempts at each socket call.
//
// Each function makes one attempt (retrying EINTR and the errors the man pages say to retry)
// and reports what the caller must do next: nothing (done, with a value), wait until the fd is
// readable, wait until it is writable, or give up (failed, with errno). None of them waits,
// allocates or throws. The operations in operations.hpp compose them, and the drivers in
// drive.hpp (blocking: fibers and plain threads; async: coroutines) do the waiting, so each
// protocol step is written once whatever waits for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "balrog/net/endpoint.hpp"

namespace balrog::net::detail {

enum class progress : std::uint8_t {
  done,        // finished; the value is valid
  want_read,   // try again when the fd is readable
  want_write,  // try again when the fd is writable
  failed,      // gave up; `error` holds errno
};

template <class T>
struct attempt {
  progress state = progress::done;
  T value{};
  int error = 0;

  static attempt done(T v) noexcept { return {progress::done, v, 0}; }
  static attempt want_read() noexcept { return {progress::want_read, T{}, 0}; }
  static attempt want_write() noexcept { return {progress::want_write, T{}, 0}; }
  static attempt failed(int err) noexcept { return {progress::failed, T{}, err}; }
};

// socket(2) for a stream socket of `family`, non-blocking and close-on-exec: done(fd) or
// failed. Never wants to wait.
attempt<int> open_stream_socket(int family) noexcept;

// connect(2): done (connected at once, typical of Unix sockets), want_write (in progress: call
// finish_connect when writable), or failed (ECONNREFUSED...; EAGAIN for a Unix listener whose
// backlog is full — the kernel offers no readiness event for "room in the backlog").
attempt<bool> start_connect(int fd, const endpoint& to) noexcept;
// After start_connect wanted write: done when connected, failed with the connect error
// (SO_ERROR), want_write again if the wake-up was spurious (still connecting).
attempt<bool> finish_connect(int fd) noexcept;

// accept4(2): done(new fd, non-blocking and close-on-exec), want_read when nobody is queued,
// failed (EMFILE, ENFILE, ENOBUFS, EBADF...). Connections that died in the queue
// (ECONNABORTED, EPROTO...) are skipped.
attempt<int> accept_once(int listen_fd) noexcept;

// recv(2): done(n > 0), done(0) at end of stream or for an empty buffer, want_read, failed.
attempt<std::size_t> receive_once(int fd, std::span<std::byte> into) noexcept;

// receive_once through recvmsg(2) with room for TCP_INQ's control message: `left` is set to
// the bytes still queued after this read when the socket reports it (a TCP socket with
// TCP_INQ on, see count_queued_bytes), else to -1 (unknown: a Unix socket, an fd the runtime
// did not make). At the end of stream the kernel reports 1, never 0 (the end is still to read).
attempt<std::size_t> receive_once(int fd, std::span<std::byte> into, int& left) noexcept;

// Turns TCP_INQ on for a TCP socket (or a TCP listener: accepted sockets inherit it), so that
// the receive_once above learns whether a read emptied the receive queue, and the drivers need
// no read that finds EAGAIN to learn it. Best effort: errors (a Unix socket) are ignored.
void count_queued_bytes(int fd) noexcept;

// send(2) with MSG_NOSIGNAL (a closed peer is EPIPE, never SIGPIPE): done(n), done(0) for an
// empty buffer, want_write, failed.
attempt<std::size_t> send_once(int fd, std::span<const std::byte> from) noexcept;

}  // namespace balrog::net::detail
