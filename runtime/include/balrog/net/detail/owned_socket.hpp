// balrog/net/detail/owned_socket.hpp — the fd a stream or listener owns, and who waits on it.
//
// Not public API: net::stream and net::listener hold one by value. It exists so that close()
// can wake the contexts parked in a readiness wait on the fd: closing an fd drops its epoll
// registration silently, so without this a waiting fiber would sleep until its deadline. A
// woken waiter re-reads fd() before touching the socket again, finds it closed, and throws;
// it never operates on a number that close() freed and a new socket may already reuse.
//
// Who waits, and how close() reaches them: a fiber, or a coroutine (a spawn_task task, or a
// chain a fiber or plain thread drives through balrog::await), parks in the wait protocol of
// execution_context.hpp and is woken with try_wake; a plain thread blocked in poll(2) is not
// parked and only a shutdown(2) of the socket wakes it. The waiter says which it is
// (socket_waiter::polls): the context's kind cannot tell, since a coroutine task is no fiber
// yet parks like one.
//
// Thread-safe: in sync mode a reader thread and a writer thread may share a socket, so the
// waiter list has its own spinlock and the fd is atomic.
#pragma once

#include <atomic>

#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog::net::detail {

// A context waiting for an owned_socket's fd (see above).
struct socket_waiter : balrog::detail::waiter {
  socket_waiter(balrog::detail::execution_context& context, bool polls_) noexcept
      : waiter(context), polls(polls_) {}
  // True for a plain thread blocked in poll(2): close() shuts the socket down to wake it.
  // False for a context parked in the wait protocol (a fiber, a coroutine): close() claims
  // it with try_wake.
  bool polls;
};

class owned_socket {
 public:
  owned_socket() noexcept = default;
  explicit owned_socket(int fd) noexcept : fd_(fd) {}
  // Moving hands over the fd, not the waiters: contexts waiting on the moved-from object are
  // woken and find it closed (moving a socket that is in use is a bug, but not a crash).
  owned_socket(owned_socket&& other) noexcept : fd_(other.release()) {}
  owned_socket& operator=(owned_socket&& other) noexcept;
  owned_socket(const owned_socket&) = delete;
  owned_socket& operator=(const owned_socket&) = delete;
  ~owned_socket() { close(); }

  [[nodiscard]] int fd() const noexcept { return fd_.load(std::memory_order_acquire); }
  [[nodiscard]] bool is_open() const noexcept { return fd() >= 0; }

  // Marks the socket closed, wakes the waiters, closes the fd. Idempotent. close(2) errors
  // are ignored: Linux frees the number whatever close returns. If a plain thread is blocked
  // in poll(2) on the fd, the socket is shut down first: closing alone would not wake it.
  void close() noexcept;
  // Marks the socket closed and wakes the waiters, but gives the fd to the caller; -1 if
  // closed. Plain threads in poll(2) on it are not woken.
  int release() noexcept;

  // Registers `w` (a context about to wait for `fd`) so that close() wakes it. False, without
  // registering, if `fd` is no longer this socket's fd (closed meanwhile): don't wait then.
  [[nodiscard]] bool add_waiter(socket_waiter& w, int fd) noexcept;
  void remove_waiter(socket_waiter& w) noexcept;

 private:
  // Takes the fd (-1 if none) and wakes every waiter; `threads` tells whether some waiter
  // polls (a plain thread in poll(2)), which only a shutdown(2) of the socket can wake.
  int take_and_wake(bool& threads) noexcept;

  std::atomic<int> fd_{-1};
  balrog::detail::spinlock lock_;
  balrog::detail::wait_queue waiters_;  // socket_waiters only; under lock_
};

}  // namespace balrog::net::detail
