// Drivers: what waits between the steps of an operation (operations.hpp).
//
// drive_blocking runs an operation to completion on the calling fiber or plain thread: it
// steps the operation and, when a step wants the fd readable or writable, waits with
// balrog::wait_readable / wait_writable — the reactor on a fiber, poll(2) on a plain thread
// (sync mode) — then steps again. A C++20-coroutine driver (co_await forms of the same calls)
// belongs beside it and drives the very same operations; nothing here knows what a socket
// call means.
//
// Deadline behaviour, shared by every blocking call of balrog::net: the first step is made
// before any wait, so an operation that can complete at once succeeds even with a past
// deadline; the first wait then fails with timeout_error. Cancellation likewise strikes only
// at a wait.
#pragma once

#include "balrog/deadline.hpp"
#include "balrog/net/detail/owned_socket.hpp"
#include "net/operations.hpp"
#include "net/socket_ops.hpp"

namespace balrog::net::detail {

// Throws io_error(EBADF): "balrog::net::stream::read_some: stream is closed".
[[noreturn]] void throw_closed(const char* call, const char* owner);

// Waits until `fd` (the fd of `s`) is ready as `wanted` asks (want_read or want_write),
// registered on `s` so that closing `s` wakes the wait (see owned_socket.hpp).
// Returns true on readiness or on such a wake-up (the caller re-reads s.fd()), false when
// `until` passed before the enclosing deadline_scope's deadline. Throws timeout_error for the
// scope's deadline, cancelled, io_error for a bad fd.
bool wait_ready(owned_socket& s, int fd, progress wanted, deadline until);

template <class Op>
decltype(auto) drive_blocking(owned_socket& s, Op& op, deadline until) {
  for (;;) {
    const int fd = s.fd();  // re-read after every wait: close() may have run meanwhile
    if (fd < 0) throw_closed(Op::call, Op::owner);
    const progress p = op.step(fd);
    if (p == progress::done) return op.take();
    if (p == progress::failed) throw_failure(op, fd);
    if (!wait_ready(s, fd, p, until)) throw_timeout(op, fd);
  }
}

}  // namespace balrog::net::detail
