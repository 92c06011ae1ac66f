// balrog/net/stream.hpp — a connected TCP or Unix stream socket, blocking-style and co_await.
//
//   auto s = balrog::net::connect("localhost", 8080, 2s);
//   s.write_all("ping\n");
//   std::array<std::byte, 4096> buf;
//   std::size_t n = s.read_some(buf, 500ms);  // 0: the peer closed its end
//
//   // the same in coroutine code (balrog/task.hpp)
//   auto s = co_await balrog::net::async_connect("localhost", 8080, 2s);
//   co_await s.async_write_all("ping\n");
//   std::size_t n = co_await s.async_read_some(buf, 500ms);
//
// A stream owns one socket, which is always in non-blocking mode underneath. Its calls look
// blocking: on a fiber a call that would block suspends the fiber (other fibers of the shard
// keep running) until the socket is ready; on a plain thread with no runtime (sync mode) it
// blocks the thread in poll(2). The same code runs in both places.
//
// Coroutine forms: every call that may wait has an async_ twin (async_read_some,
// async_wait_readable, async_read_exact, async_write_some, async_write_all; listener::async_accept,
// async_connect, async_resolve) returning a balrog::task. co_await it in coroutine code, where the
// blocking forms are refused with usage_error; the awaiting coroutine suspends and the shard's
// reactor resumes it. Each async_ call does exactly what its blocking twin does — the two are one
// implementation driven two ways — so everything this file says about deadlines, errors,
// cancellation (of the task, or of the fiber awaiting it) and closing holds for both; where
// the text says "fiber", read "the awaiting coroutine's task or fiber". The task is lazy: the
// call starts when it is awaited, not when async_ is called. It refers to the stream and to
// the buffer it was given, so both must stay alive, and the stream must stay where it is
// (not moved into another object), until the co_await completes. balrog::await(task) runs one
// from blocking-style code, on a fiber or (block_on: a private scheduler for the duration of
// the call) on a plain thread: sockets are plain fds, any thread may wait on them. Every
// argument may be written inline in the co_await statement, GCC 12 included (see task.hpp):
// spans, string_views, deadlines and endpoints are trivially copyable, and the host names
// are taken by value by functions that are not coroutines themselves.
//
// Ownership: RAII and move-only. The destructor closes the socket; a moved-from stream is
// closed. Every operation on a closed stream (closed, moved-from, released, default-made)
// throws io_error with code EBADF and "stream is closed" in its message.
//
// Sharing: the fibers and coroutines of a thread, or plain threads in sync mode, may share a
// stream — typically one reading while another writes; two concurrent readers (or writers)
// each get some of the bytes, in no useful order. Any of them may close() it: the calls
// waiting on the stream (blocking or co_await) wake and throw io_error (EBADF, "stream is
// closed"), and never touch a socket that has since reused the fd number. That is guaranteed
// for fibers and coroutines on any thread (a wait publishes itself on the stream only once it
// can be woken). A plain thread (sync mode) that was just about to enter poll(2) when the
// number got reused ends at its deadline instead. So, as with plain fds, prefer closing a
// stream on the thread that uses it. Destroying or moving a stream while another fiber,
// coroutine or thread is inside one of its calls is a use-after-free, as for any object:
// close() it instead.
//
// Deadlines: every call that may wait takes a `deadline` (a duration from now, a time point,
// or deadline::never()), combined with the enclosing deadline_scope (the earlier wins). A
// call first tries the operation at once; only if it would block does it wait. So a past
// deadline fails at the first wait, but an operation that can complete at once — data already
// buffered, room in the send buffer — still succeeds. When the call's own deadline passes it
// throws timeout_error naming the call and fd ("balrog::net::stream::read_some(fd 7):
// deadline exceeded"); an enclosing scope's deadline throws the plain timeout_error. An async_
// call's duration deadline counts from the call that made the task (write the co_await in the
// same statement, as usual); a deadline_scope is the one in force where the task waits — in
// coroutine code, the scope opened in the awaiting coroutine (or its callers).
//
// Errors: io_error carries errno in code() and names the call and fd in what(), e.g.
// "balrog::net::stream::read_some(fd 7): Connection reset by peer" (the async_ forms name the
// same calls). A wait throws cancelled when the fiber (or the task) is cancelled. After any
// exception from read_exact or write_all, how many bytes were transferred is unknown: treat
// the stream as broken and close it. Writes never raise SIGPIPE: writing to a peer that has
// gone throws io_error with EPIPE or ECONNRESET.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "balrog/deadline.hpp"
#include "balrog/net/detail/owned_socket.hpp"
#include "balrog/net/endpoint.hpp"
#include "balrog/task.hpp"

namespace balrog::net {

class listener;
class stream;
namespace detail {
task<stream> connect_task(endpoint to, deadline until);
}

// Which direction(s) shutdown() ends.
enum class shutdown_how {
  read,   // further reads return end of stream at once; the peer is not told (TCP)
  write,  // sends end of stream (TCP FIN) after the queued data; reads keep working
  both,
};

class stream {
 public:
  // A closed stream (a placeholder to move into).
  stream() noexcept = default;

  // Adopts `fd`, a connected stream socket the caller opened (socketpair, inherited, or from
  // another library), and switches it to non-blocking mode (O_NONBLOCK belongs to the open
  // file, so dup'ed copies see it too). The stream closes it from then on.
  // Throws io_error: EBADF for a negative or invalid fd, ENOTSOCK for a non-socket; and
  // usage_error for a socket that is not SOCK_STREAM. When it throws, the fd stays the
  // caller's and stays open.
  explicit stream(int fd);

  stream(stream&&) noexcept = default;
  stream& operator=(stream&&) noexcept = default;  // closes what it held first
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream() = default;  // closes

  // Reads what is available, at most into.size() bytes, waiting until at least one byte is.
  // Returns the count; 0 means the peer closed its end in an orderly way (end of stream) — or
  // that `into` is empty (returns 0 at once). Throws io_error (ECONNRESET...), timeout_error,
  // cancelled.
  std::size_t read_some(std::span<std::byte> into, deadline until = deadline::never());

  // Waits until a read would not wait (bytes, the end of stream, or an error are there),
  // reading nothing. Through the stream's own registration, as read_some: a caller that parks
  // a connection without a buffer (a server's idle keep-alive) uses it, not a wait on
  // native_handle(). Throws timeout_error, cancelled, io_error (EBADF once closed).
  void wait_readable(deadline until = deadline::never());

  // Reads exactly into.size() bytes, waiting as needed. `until` bounds the whole call, not
  // each wait. Throws end_of_stream (an io_error) if the stream ends first, saying how many of
  // how many bytes arrived; io_error, timeout_error, cancelled as read_some.
  void read_exact(std::span<std::byte> into, deadline until = deadline::never());
  // The same, returning the n bytes as a string.
  std::string read_exact(std::size_t n, deadline until = deadline::never());

  // Writes what fits in the send buffer, at most from.size() bytes, waiting until at least one
  // byte fits. Returns the count (0 only for an empty `from`). Throws io_error (EPIPE,
  // ECONNRESET...), timeout_error, cancelled.
  std::size_t write_some(std::span<const std::byte> from, deadline until = deadline::never());
  std::size_t write_some(std::string_view from, deadline until = deadline::never());

  // Writes all of `from`, waiting as needed. `until` bounds the whole call. Returning means
  // the bytes are in the kernel's send buffer, not that the peer has read them.
  void write_all(std::span<const std::byte> from, deadline until = deadline::never());
  void write_all(std::string_view from, deadline until = deadline::never());

  // --- coroutine forms: co_await them; same behaviour as the calls above -----------------
  // The stream and the bytes of `into` / `from` must stay alive until the co_await completes
  // (with a temporary, e.g. `co_await s.async_write_all(std::string(...))`, they do: the
  // temporary lives until the end of the statement).

  // read_some: yields the count, 0 at end of stream (or for an empty `into`).
  [[nodiscard]] task<std::size_t> async_read_some(std::span<std::byte> into,
                                                  deadline until = deadline::never());
  // wait_readable: done when a read would not wait.
  [[nodiscard]] task<void> async_wait_readable(deadline until = deadline::never());
  // read_exact: `until` bounds the whole call; end_of_stream if the stream ends first.
  [[nodiscard]] task<void> async_read_exact(std::span<std::byte> into,
                                            deadline until = deadline::never());
  [[nodiscard]] task<std::string> async_read_exact(std::size_t n,
                                                   deadline until = deadline::never());
  // write_some: yields the count (0 only for an empty `from`).
  [[nodiscard]] task<std::size_t> async_write_some(std::span<const std::byte> from,
                                                   deadline until = deadline::never());
  [[nodiscard]] task<std::size_t> async_write_some(std::string_view from,
                                                   deadline until = deadline::never());
  // write_all: `until` bounds the whole call; done when the bytes are in the send buffer.
  [[nodiscard]] task<void> async_write_all(std::span<const std::byte> from,
                                           deadline until = deadline::never());
  [[nodiscard]] task<void> async_write_all(std::string_view from,
                                           deadline until = deadline::never());

  // shutdown(2). Never waits. Throws io_error (ENOTCONN if the connection is already gone).
  void shutdown(shutdown_how how);

  // Closes the socket and wakes the calls waiting on it (they throw io_error EBADF; see
  // "Sharing" above). Idempotent; never throws. Pending unsent data is still delivered by the
  // kernel unless SO_LINGER says otherwise.
  void close() noexcept { socket_.close(); }

  // Disables (true) or re-enables Nagle's algorithm (TCP_NODELAY). A no-op on Unix sockets,
  // which have none. Throws io_error.
  void set_nodelay(bool on);

  // getsockname(2) / getpeername(2). Throws io_error (ENOTCONN once the peer reset).
  [[nodiscard]] endpoint local_endpoint() const;
  [[nodiscard]] endpoint remote_endpoint() const;

  [[nodiscard]] bool is_open() const noexcept { return socket_.is_open(); }
  // The fd, or -1 when closed. Still owned by the stream; do not close it.
  [[nodiscard]] int native_handle() const noexcept { return socket_.fd(); }
  // Gives the fd up without closing it (still non-blocking); the stream becomes closed.
  // Returns -1 if it was closed.
  [[nodiscard]] int release() noexcept { return socket_.release(); }

 private:
  friend class listener;
  friend class tls_stream;  // drives its TLS steps on this socket (tls_stream.hpp)
  friend stream connect(const endpoint& to, deadline until);
  friend task<stream> detail::connect_task(endpoint to, deadline until);

  struct adopt_t {};
  // `counts_queued`: the runtime turned TCP_INQ on for the socket (connect, or accept from a
  // TCP listener), so read_exact learns when it emptied the receive queue.
  stream(adopt_t /*tag*/, int fd, bool counts_queued = false) noexcept
      : socket_(fd), counts_queued_(counts_queued) {}

  detail::owned_socket socket_;
  bool counts_queued_ = false;
};

// Connects to `to`. TCP waits for the handshake; a Unix connect never waits (it succeeds or
// fails at once). Throws io_error naming the endpoint: ECONNREFUSED when nothing listens,
// ENOENT for a missing Unix path, EAGAIN for a Unix listener whose backlog is full,
// ENETUNREACH...; usage_error for an empty endpoint; timeout_error when `until` passes first
// and cancelled when the fiber is cancelled (the half-open socket is closed either way).
stream connect(const endpoint& to, deadline until = deadline::never());

// Resolves `host` (net::resolve: numeric addresses at once, names through offload), then tries
// each address in the resolver's order until one connects; `until` bounds the whole call,
// resolution included. If none connects, throws the last attempt's io_error (its errno in
// code()) with a message naming host:port; a resolution failure throws resolve_error;
// timeout_error and cancelled end the attempts at once.
stream connect(std::string host, std::uint16_t port, deadline until = deadline::never());

// The coroutine forms of connect(), with the same behaviour, errors and deadline (which, for
// the host form, bounds resolution and every attempt). co_await them in coroutine code.
// The endpoint and the host are copied into the task: they need not outlive the call.
// Resolving a name never blocks the shard: async_resolve runs the lookup on the offload pool
// (see resolve.hpp); numeric hosts are converted at once.
[[nodiscard]] task<stream> async_connect(const endpoint& to, deadline until = deadline::never());
[[nodiscard]] task<stream> async_connect(std::string host, std::uint16_t port,
                                         deadline until = deadline::never());

}  // namespace balrog::net
