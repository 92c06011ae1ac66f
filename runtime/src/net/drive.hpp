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
// Deadline behaviour, shared by every call of balrog::net, blocking or not: the first step is
// made before any wait, so an operation that can complete at once succeeds even with a past
// deadline; the first wait then fails with timeout_error. Cancellation likewise strikes only
// at a wait. Both waits register on the owner's owned_socket, so close() wakes them, and both
// re-read the fd after every wait.
#pragma once

#include <coroutine>
#include <optional>
#include <type_traits>

#include "balrog/deadline.hpp"
#include "balrog/io.hpp"
#include "balrog/net/detail/owned_socket.hpp"
#include "balrog/task.hpp"
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

// The coroutine twin of wait_ready: `co_await ready_awaiter(s, fd, wanted, until)` yields and
// throws what wait_ready returns and throws. Suspends the awaiting coroutine (never a thread)
// until the shard's reactor reports the fd ready or close() of `s` wakes it. Needs a balrog
// scheduler on this thread (usage_error otherwise, as co_await balrog::readable).
class ready_awaiter {
 public:
  ready_awaiter(owned_socket& s, int fd, progress wanted, deadline until) noexcept
      : s_(s), fd_(fd), until_(until), ready_(fd, wanted == progress::want_write, until) {}
  ready_awaiter(const ready_awaiter&) = delete;
  ready_awaiter& operator=(const ready_awaiter&) = delete;
  ~ready_awaiter();  // unregisters if the coroutine is destroyed while suspended here

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);  // false: closed meanwhile, resume at once
  bool await_resume();

 private:
  owned_socket& s_;
  int fd_;
  deadline until_;
  fd_awaiter ready_;  // the reactor wait: co_await balrog::readable / writable
  bool own_first_ = false;
  std::optional<socket_waiter> node_;  // engaged while registered on s_
};

// One turn of a driver's loop, the part both drivers share: re-reads the fd (close() may
// have run during the last wait), steps the operation on it, and throws what a closed socket
// or a failed step means. Returns the fd and the progress: done, or what to wait for.
struct turn {
  int fd;
  progress wanted;
};
template <class Op>
turn next_turn(owned_socket& s, Op& op) {
  const int fd = s.fd();
  if (fd < 0) throw_closed(Op::call, Op::owner);
  const progress p = op.step(fd);
  if (p == progress::failed) throw_failure(op, fd);
  return {fd, p};
}

template <class Op>
decltype(auto) drive_blocking(owned_socket& s, Op& op, deadline until) {
  for (;;) {
    const turn t = next_turn(s, op);
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
  for (;;) {
    const turn t = next_turn(s, op);
    if (t.wanted == progress::done) co_return op.take();
    if (!co_await ready_awaiter(s, t.fd, t.wanted, until)) throw_timeout(op, t.fd);
  }
}

}  // namespace balrog::net::detail
