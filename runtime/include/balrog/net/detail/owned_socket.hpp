// balrog/net/detail/owned_socket.hpp — the fd a stream or listener owns, and who waits on it.
//
// Not public API: net::stream and net::listener hold one by value. It exists so that close()
// can wake the contexts parked in a readiness wait on the fd: closing an fd drops its epoll
// registration silently, so without this a waiting fiber would sleep until its deadline. A
// woken waiter re-reads fd() before touching the socket again, finds it closed, and throws;
// it never operates on a number that close() freed and a new socket may already reuse.
//
// Thread-safe: in sync mode a reader thread and a writer thread may share a socket, so the
// waiter list has its own spinlock and the fd is atomic.
#pragma once

#include <atomic>

#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog::net::detail {

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
  [[nodiscard]] bool add_waiter(balrog::detail::waiter& w, int fd) noexcept;
  void remove_waiter(balrog::detail::waiter& w) noexcept;

 private:
  // Takes the fd (-1 if none) and wakes every waiter; `threads` tells whether some waiter is
  // a plain thread, which only a shutdown(2) of the socket can wake.
  int take_and_wake(bool& threads) noexcept;

  std::atomic<int> fd_{-1};
  balrog::detail::spinlock lock_;
  balrog::detail::wait_queue waiters_;  // under lock_
};

}  // namespace balrog::net::detail
