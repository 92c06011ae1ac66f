// Drivers: what waits between the steps of an operation (operations.hpp).
//
// An operation is one API call as a sans-IO state machine; a driver steps it and, when a step
// wants the fd readable or writable, waits, then steps again. There are exactly two drivers,
// the same loop with a different wait, and nothing here knows what a socket call means:
//
//  - drive_blocking runs the operation to completion on the calling fiber or plain thread,
//    waiting with balrog::wait_readable / wait_writable (wait_ready below): the reactor on a
//    fiber, poll(2) on a plain thread (sync mode). Every blocking-style call uses it.
//  - drive_async is its C++20-coroutine twin: a task that co_awaits readiness (ready_awaiter,
//    built on co_await balrog::readable / writable), resumed by the shard's reactor. Every
//    async_ call uses it, whoever awaits the task: a spawn_task task, a coroutine, or a fiber
//    or plain thread through balrog::await.
//
// Deadline behaviour, shared by every call of balrog::net, blocking or not: an operation that
// can complete at once succeeds even with a past deadline (a past deadline looks before it
// gives up); otherwise the first wait fails with timeout_error. Cancellation strikes only at a
// wait. Both waits take the fd-wait path (io/fd_waits.hpp) with the owned_socket as the
// fd's owner, so close() on any thread wakes them, and both re-read the fd after every wait.
//
// Readiness (edge-triggered registrations, reactor.hpp): on a fiber or a task, a turn first
// asks the reactor whether the direction the operation needs is known not to be ready (a
// would-block since the last event); then it waits instead of making an attempt that would
// find EAGAIN. After a would-block, or a short read or write (the socket's buffer is drained
// or full), it tells the reactor so.
#pragma once

#include <coroutine>
#include <optional>
#include <type_traits>

#include "balrog/deadline.hpp"
#include "balrog/io.hpp"
#include "balrog/net/detail/owned_socket.hpp"
#include "balrog/task.hpp"
#include "io/fd_waits.hpp"
#include "net/operations.hpp"
#include "net/socket_ops.hpp"

namespace balrog::net::detail {

// Throws io_error(EBADF): "balrog::net::stream::read_some: stream is closed".
[[noreturn]] void throw_closed(const char* call, const char* owner);

// wait_ready's and ready_awaiter's result: true for readiness or a close() (the caller re-reads
// the fd), false for the call's own deadline; the rest throws.
inline bool ready_or_closed(const balrog::detail::fd_wait_outcome& o) {
  if (o.why == balrog::detail::wake_reason::notified) return true;
  if (o.why != balrog::detail::wake_reason::timeout) balrog::detail::throw_if_failed(o.why);
  return false;
}

// Waits until `fd` (the fd of `s`) is ready as `wanted` asks (want_read or want_write), on a
// fiber (the reactor) or a plain thread (poll(2)); close() of `s` wakes it. Returns true on
// readiness or on such a wake-up (the caller re-reads s.fd()), false when `until` passed
// before the enclosing deadline_scope's deadline. Throws timeout_error for the scope's
// deadline, cancelled, usage_error in coroutine code, io_error for a bad fd.
// Inline: a parked fiber's stack holds one frame fewer (issue 10, "Cache footprint of a wait"
// in docs/architecture.md).
inline bool wait_ready(owned_socket& s, int fd, progress wanted, deadline until) {
  return ready_or_closed(balrog::detail::wait_for_fd(balrog::detail::current_context(), fd,
                                                     wanted == progress::want_write, until, &s));
}

// The coroutine twin of wait_ready: `co_await ready_awaiter(s, fd, wanted, until)` yields and
// throws what wait_ready returns and throws. Suspends the awaiting coroutine (never a thread)
// until the shard's reactor reports the fd ready or close() of `s` wakes it. Needs a balrog
// scheduler on this thread (usage_error otherwise, as co_await balrog::readable).
class ready_awaiter {
 public:
  // The wait protocol resumes the chain on its own context: no trampoline (coroutine.hpp).
  using balrog_resumes_home = void;
  ready_awaiter(owned_socket& s, int fd, progress wanted, deadline until) noexcept
      : s_(s), fd_(fd), for_write_(wanted == progress::want_write), until_(until) {}
  // Movable only before it is awaited (GCC 12 moves an awaiter that await_transform passes
  // through, as for balrog::fd_awaiter); a queued wait is never moved: its nodes are linked.
  ready_awaiter(ready_awaiter&& other) noexcept
      : s_(other.s_), fd_(other.fd_), for_write_(other.for_write_), until_(other.until_) {}
  ready_awaiter(const ready_awaiter&) = delete;
  ready_awaiter& operator=(const ready_awaiter&) = delete;
  ~ready_awaiter();  // unpublishes if the coroutine is destroyed while suspended here

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);  // false: no need to wait
  bool await_resume();

 private:
  owned_socket& s_;
  int fd_;
  bool for_write_;
  deadline until_;
  std::optional<balrog::detail::fd_wait_state> wait_;  // engaged while suspended
  balrog::detail::fd_wait_outcome outcome_;
};

// One turn of a driver's loop, the part both drivers share: re-reads the fd (close() may
// have run during the last wait) and holds it open (owned_socket::use) while it steps the operation
// on it — unless, on the call's first turn, the reactor knows the readiness the step needs is
// absent —, tells the reactor what the step learned, and throws what a closed socket or a failed
// step means. Returns the fd and the progress: done, or what to wait for. After a wait a turn
// always steps: the wait ended because the fd looked ready, whether or not the reactor has seen its
// event yet.
struct turn {
  int fd;
  progress wanted;
};
template <class Op>
turn next_turn(owned_socket& s, Op& op, bool first) {
  balrog::detail::reactor* r = balrog::detail::current_reactor();
  if (r == nullptr) {                   // sync mode: nothing is known, try
    const owned_socket::use in_use(s);  // close() on another thread waits for this step
    const int fd = in_use.fd();
    if (fd < 0) throw_closed(Op::call, Op::owner);
    const progress p = op.step(fd);
    if (p == progress::failed) throw_failure(op, fd);
    return {fd, p};
  }
  const balrog::detail::io_registration reg = s.registration();
  // An operation that cannot know the direction of its next attempt (TLS: OpenSSL may hold
  // decrypted input, a handshake wants either) has no needs()/drained(): it always attempts.
  constexpr bool knows_needs = requires(const Op& o) {
    o.needs();
    o.drained();
  };
  progress needs = progress::done;
  if constexpr (knows_needs) needs = op.needs();
  const bool for_write = needs == progress::want_write;
  if (first && needs != progress::done && !r->ready(reg, for_write)) {
    // The attempt would find EAGAIN: wait first. No use (two locked instructions): no system
    // call touches the number here, and the wait checks under the socket's lock that the
    // number is still the socket's before it arms it (owned_socket::publish).
    const int fd = s.fd();
    if (fd < 0) throw_closed(Op::call, Op::owner);
    return {fd, needs};
  }
  const owned_socket::use in_use(s);  // close() on another thread waits for this step
  const int fd = in_use.fd();
  if (fd < 0) throw_closed(Op::call, Op::owner);
  const std::uint64_t since = r->tick();
  const progress p = op.step(fd);
  if (p == progress::failed) throw_failure(op, fd);
  if (p == progress::want_read || p == progress::want_write) {
    r->clear_ready(reg, p == progress::want_write, since);
  } else if constexpr (knows_needs) {
    if (p == progress::done && needs != progress::done && op.drained()) {
      r->clear_ready(reg, for_write, since);
    }
  }
  return {fd, p};
}

template <class Op>
decltype(auto) drive_blocking(owned_socket& s, Op& op, deadline until) {
  for (bool first = true;; first = false) {
    const turn t = next_turn(s, op, first);
    if (t.wanted == progress::done) return op.take();
    if (!wait_ready(s, t.fd, t.wanted, until)) throw_timeout(op, t.fd);
  }
}

// What an operation yields: std::size_t, int, void...
template <class Op>
using result_of = std::remove_cvref_t<decltype(std::declval<Op&>().take())>;

// drive_blocking as a coroutine. The operation lives in the task's frame; `s` must outlive
// the task.
template <class Op>
task<result_of<Op>> drive_async(owned_socket& s, Op op, deadline until) {
  for (bool first = true;; first = false) {
    const turn t = next_turn(s, op, first);
    if (t.wanted == progress::done) co_return op.take();
    if (!co_await ready_awaiter(s, t.fd, t.wanted, until)) throw_timeout(op, t.fd);
  }
}

}  // namespace balrog::net::detail
