// The socket operations of balrog::net as sans-IO state machines.
//
// An operation composes the single attempts of socket_ops.hpp into what an API call means
// (read_exact = receive until the buffer is full; connect = start, then finish when writable)
// and keeps its progress between attempts, so a driver can wait in between and call step()
// again. Both drivers in drive.hpp — drive_blocking (fibers and plain threads) and drive_async
// (C++20 coroutines) — rely on this protocol and nothing else:
//
//   static constexpr const char* call;  // "balrog::net::stream::read_some": names errors
//   static constexpr const char* owner; // "stream": "<owner> is closed" when the fd is gone
//   int error;                          // errno, after a failed step
//   progress step(int fd);              // one non-blocking attempt; never waits or throws
//   progress needs() const;             // optional: the readiness the next step needs:
//                                       // want_read, want_write, or done (none: always
//                                       // attempt); without it (TLS) the driver always attempts
//                                       // and needs no drained()
//   bool drained() const;               // after done: the last attempt emptied the receive
//                                       // buffer (or filled the send buffer), as a short read
//                                       // (write) shows: the next one in that direction
//                                       // would find EAGAIN
//   R take();                           // after done: the result (may throw end_of_stream)
//   std::string describe(int fd) const; // optional: what errors call it (default: call(fd N))
//
// and uses the helpers below to turn a failed step or a passed deadline into the exception.
//
// The driver re-reads the owner's fd before every step (it may have been closed while the
// driver waited) and passes it in; operations never keep an fd across steps except to name it
// in a message.
//
// Operations are small movable values (spans, counters, a pointer to an endpoint the caller
// keeps alive): drive_blocking steps the caller's, drive_async moves one into its frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/errors.hpp"
#include "balrog/net/endpoint.hpp"
#include "net/socket_ops.hpp"
#include "reactor/describe_call.hpp"

namespace balrog::net::detail {

// "balrog::net::stream::read_some(fd 7)".
using balrog::detail::describe_call;

// How errors of `op` on `fd` name it.
template <class Op>
std::string describe(const Op& op, int fd) {
  if constexpr (requires { op.describe(fd); }) {
    return op.describe(fd);
  } else {
    return describe_call(Op::call, fd);
  }
}

// After a failed step: io_error(op.error), "balrog::net::stream::read_some(fd 7): <strerror>".
template <class Op>
[[noreturn]] void throw_failure(const Op& op, int fd) {
  throw_errno(op.error, describe(op, fd));
}

// Whether a call's own deadline `until` is the one that would expire first, rather than the
// enclosing deadline_scope's: this decides between "<call>: deadline exceeded" and the plain
// timeout_error of the scope. The rule is the runtime's one, execution_context::bound_of.
inline bool own_deadline_first(deadline until) noexcept {
  return !until.is_never() && balrog::detail::current_context().bound_of(until).on_timeout ==
                                  balrog::detail::wake_reason::timeout;
}

// The call's own deadline passed: timeout_error("<describe>: deadline exceeded").
template <class Op>
[[noreturn]] void throw_timeout(const Op& op, int fd) {
  throw timeout_error(describe(op, fd) + ": deadline exceeded");
}

struct read_some_op {
  static constexpr const char* call = "balrog::net::stream::read_some";
  static constexpr const char* owner = "stream";
  std::span<std::byte> buffer;
  std::size_t got = 0;
  int error = 0;

  progress step(int fd) noexcept;
  progress needs() const noexcept { return progress::want_read; }
  bool drained() const noexcept { return got > 0 && got < buffer.size(); }
  std::size_t take() const noexcept { return got; }
};

// Readiness without reading: a one-byte MSG_PEEK. Done when a read would not wait (bytes, the
// end of stream, or an error, which the next read reports).
struct wait_readable_op {
  static constexpr const char* call = "balrog::net::stream::wait_readable";
  static constexpr const char* owner = "stream";
  int error = 0;

  progress step(int fd) noexcept;
  progress needs() const noexcept { return progress::want_read; }
  bool drained() const noexcept { return false; }  // nothing taken
  void take() const noexcept {}
};

struct read_exact_op {
  static constexpr const char* call = "balrog::net::stream::read_exact";
  static constexpr const char* owner = "stream";
  std::span<std::byte> buffer;
  // The socket has TCP_INQ on (count_queued_bytes): receive with recvmsg and learn `left`.
  // Only then: a recvmsg with a control buffer on a Unix socket would also take in the file
  // descriptors a peer passes (SCM_RIGHTS), which recv(2) discards.
  bool count_queued = false;
  std::size_t filled = 0;
  bool ended = false;  // end of stream before the buffer was full
  int left = -1;       // bytes still queued after the last receive (TCP_INQ); -1: unknown
  int last_fd = -1;
  int error = 0;

  progress step(int fd) noexcept;
  progress needs() const noexcept { return progress::want_read; }
  // Full, and the kernel said nothing is left to read (TCP_INQ: count_queued_bytes); without
  // that count more may wait, and the next read tries.
  bool drained() const noexcept { return left == 0; }
  void take() const;  // throws end_of_stream when `ended`
};

struct write_some_op {
  static constexpr const char* call = "balrog::net::stream::write_some";
  static constexpr const char* owner = "stream";
  std::span<const std::byte> buffer;
  std::size_t sent = 0;
  int error = 0;

  progress step(int fd) noexcept;
  progress needs() const noexcept { return progress::want_write; }
  bool drained() const noexcept { return sent > 0 && sent < buffer.size(); }
  std::size_t take() const noexcept { return sent; }
};

struct write_all_op {
  static constexpr const char* call = "balrog::net::stream::write_all";
  static constexpr const char* owner = "stream";
  std::span<const std::byte> buffer;
  std::size_t sent = 0;
  int error = 0;

  progress step(int fd) noexcept;
  progress needs() const noexcept { return progress::want_write; }
  bool drained() const noexcept { return false; }  // all sent: room may be left
  void take() const noexcept {}
};

struct accept_op {
  static constexpr const char* call = "balrog::net::listener::accept";
  static constexpr const char* owner = "listener";
  int accepted = -1;
  int error = 0;

  progress step(int fd) noexcept;
  progress needs() const noexcept { return progress::want_read; }
  bool drained() const noexcept { return false; }  // more connections may be queued
  // The new connection's fd (non-blocking, close-on-exec); the caller owns it.
  int take() const noexcept { return accepted; }
};

// Connects a socket created by open_for(); the endpoint must outlive the operation.
struct connect_op {
  static constexpr const char* call = "balrog::net::connect";
  static constexpr const char* owner = "socket";
  const endpoint* to = nullptr;
  bool started = false;
  int error = 0;

  progress step(int fd) noexcept;
  // Starting needs nothing; finishing needs the socket writable.
  progress needs() const noexcept { return started ? progress::want_write : progress::done; }
  bool drained() const noexcept { return false; }
  void take() const noexcept {}
  std::string describe(int fd) const;  // names the endpoint

  // A new non-blocking socket of `to`'s family. Throws io_error (EMFILE...).
  static int open_for(const endpoint& to);
};

// connect(host, port): which addresses to try and what to report, shared by every driver.
// The driver's loop is
//
//   connect_attempts plan(host, port, resolve(host, port, until), until);
//   while (const endpoint* ep = plan.next()) {
//     try { return connect(*ep, until); }
//     catch (const timeout_error&) { plan.timed_out(); }    // rethrows (or renames)
//     catch (const io_error& e) { plan.failed(e); }         // moves on
//   }
//   plan.give_up();                                         // throws the last error
//
// The deadline is shared by all addresses, so a timeout ends the attempts; any other io_error
// (refused, unreachable, no IPv6 on this host...) moves on to the next address.
class connect_attempts {
 public:
  connect_attempts(std::string host, std::uint16_t port, std::vector<endpoint> candidates,
                   deadline until);

  // The next address to try, or nullptr when all were tried.
  const endpoint* next() noexcept;
  // The current address failed with `e`.
  void failed(const io_error& e);
  // Call from a catch block for timeout_error: names host:port for the call's own deadline,
  // rethrows the current exception for an enclosing scope's.
  [[noreturn]] void timed_out() const;
  // After next() returned nullptr: the last failure, naming host:port and the address.
  [[noreturn]] void give_up() const;

 private:
  std::string host_port_;  // "localhost:80", "[::1]:80"
  std::vector<endpoint> candidates_;
  std::size_t next_ = 0;
  bool own_first_;
  std::optional<io_error> last_error_;
};

}  // namespace balrog::net::detail
