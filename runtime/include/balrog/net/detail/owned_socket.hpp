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
// parked and only a shutdown(2) of the socket wakes it. Such a thread holds the number from
// add_waiter to remove_waiter (pollers_): close() shuts the socket down, then waits for it
// to leave poll(2) before it frees the number, so no poll ever starts on a freed number. The waiter
// says which it is (owner_waiter::polls): the context's kind cannot tell, since a coroutine task is
// no fiber yet parks like one. Waits publish themselves here after prepare_wait (the fd-wait path's
// order), so a close() on another thread always finds them claimable.
//
// The socket is registered once (edge-triggered) with the reactor of the thread whose fiber or
// task first waits on it, and stays registered until close() or release(); waits on that
// thread go through the registration, waits elsewhere register it on their own thread. A
// close() on the registering thread ends the registration; one on another thread cannot reach
// that reactor, whose entry then goes stale and is found out by the next arm of the number.
//
// A syscall on the fd runs inside a `use` (the drivers' turn): close() and release() take the
// number at once, so no new use starts on it, then wait for the uses in flight to end before
// the number is closed or handed over. Without this a close() on another thread could free
// the number between a reader's load of fd() and its recv(2), and the recv would hit whatever
// socket reuses the number. A use never waits for readiness (the drivers wait outside it), so
// the wait is as short as one non-blocking syscall.
//
// Thread-safe: in sync mode a reader thread and a writer thread may share a socket, so the
// waiter list and the registration have their own spinlock and the fd is atomic. A wait takes
// the lock twice (publish, remove_waiter); registration(), asked on every turn of a driver,
// takes none: it reads a copy of the registration that every change under the lock
// republishes behind a sequence count (a seqlock).
#pragma once

#include <atomic>
#include <cstdint>

#include "balrog/detail/fd_wait.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog::net::detail {

class owned_socket final : public balrog::detail::fd_owner {
 public:
  owned_socket() noexcept = default;
  explicit owned_socket(int fd) noexcept : fd_(fd) {}
  // Moving hands over the fd and its registration, not the waiters: contexts waiting on the
  // moved-from object are woken and find it closed (moving a socket that is in use is a bug,
  // but not a crash).
  owned_socket(owned_socket&& other) noexcept;
  owned_socket& operator=(owned_socket&& other) noexcept;
  owned_socket(const owned_socket&) = delete;
  owned_socket& operator=(const owned_socket&) = delete;
  ~owned_socket() { close(); }

  [[nodiscard]] int fd() const noexcept { return fd_.load(std::memory_order_acquire); }

  // Holds the fd open for the syscalls of one step: fd() is -1 if the socket was closed.
  class use {
   public:
    explicit use(const owned_socket& s) noexcept : s_(s) {
      // seq_cst pairs with close()'s exchange and its load of users_: either this use sees
      // the socket closed, or close() sees this use and waits for it.
      s_.users_.fetch_add(1, std::memory_order_seq_cst);
      fd_ = s_.fd_.load(std::memory_order_seq_cst);
    }
    ~use() { s_.users_.fetch_sub(1, std::memory_order_release); }
    use(const use&) = delete;
    use& operator=(const use&) = delete;
    [[nodiscard]] int fd() const noexcept { return fd_; }

   private:
    const owned_socket& s_;
    int fd_;
  };
  [[nodiscard]] bool is_open() const noexcept { return fd() >= 0; }

  // Marks the socket closed, wakes the waiters, closes the fd. Idempotent. close(2) errors
  // are ignored: Linux frees the number whatever close returns. If a plain thread is blocked
  // in poll(2) on the fd, the socket is shut down first (closing alone would not wake it), and
  // the number is closed once that thread has left poll(2).
  void close() noexcept;
  // Marks the socket closed and wakes the waiters, but gives the fd to the caller; -1 if
  // closed. Plain threads in poll(2) on it are not woken.
  int release() noexcept;

  // fd_owner (the fd-wait path): publishes `w` (a context about to wait for `fd`) so that
  // close() wakes it; false, without publishing, if `fd` is no longer this socket's fd (closed
  // meanwhile): don't wait then. publish() also queues the wait through the socket's
  // registration, under the same lock.
  [[nodiscard]] bool add_waiter(balrog::detail::owner_waiter& w, int fd) noexcept override;
  void remove_waiter(balrog::detail::owner_waiter& w) noexcept override;
  bool publish(balrog::detail::owner_waiter& w, balrog::detail::reactor& r,
               balrog::detail::fd_wait& node, balrog::detail::fd_wait* writer) override;

  // The registration as it is now (what the drivers ask the reactor about readiness with).
  // Lock-free (the seqlock copy); the retry loop, for a read that met a write, is out of line.
  [[nodiscard]] balrog::detail::io_registration registration() const noexcept {
    const std::uint32_t seq = reg_seq_.load(std::memory_order_acquire);
    const balrog::detail::io_registration reg{reg_reactor_.load(std::memory_order_acquire),
                                              reg_fd_.load(std::memory_order_acquire),
                                              reg_generation_.load(std::memory_order_acquire),
                                              reg_always_ready_.load(std::memory_order_acquire)};
    if ((seq & 1) == 0 && reg_seq_.load(std::memory_order_relaxed) == seq) return reg;
    return registration_retry();
  }

 private:
  // Takes the fd (-1 if none) and its registration, and wakes every parked waiter. A waiter
  // that polls (a plain thread in poll(2), counted in pollers_) only a shutdown(2) of the
  // socket can wake.
  int take_and_wake(balrog::detail::io_registration& reg) noexcept;
  // After take_and_wake: returns once no use of the old number is in flight.
  void wait_for_uses() const noexcept;
  // After take_and_wake and the shutdown: returns once no plain thread polls the old number.
  void wait_for_pollers() const noexcept;
  // Under lock_ (or on an object nobody else sees yet): reg_ becomes `reg`, and its seqlock
  // copy too when it changed.
  void set_registration(const balrog::detail::io_registration& reg) noexcept;
  [[nodiscard]] balrog::detail::io_registration registration_retry() const noexcept;

  std::atomic<int> fd_{-1};
  mutable std::atomic<unsigned> users_{0};  // uses in flight
  // Plain threads listed by add_waiter (polls), until their remove_waiter. Changed under lock_.
  std::atomic<unsigned> pollers_{0};
  mutable balrog::detail::spinlock lock_;
  balrog::detail::wait_queue waiters_;     // owner_waiters only; under lock_
  balrog::detail::io_registration reg_{};  // under lock_
  // reg_'s copy for registration(): written under lock_ (set_registration), an odd seq_ while
  // a write is in progress. Release stores and acquire loads of the fields: a reader that saw
  // any field of a newer write sees seq_ changed when it reads it again.
  std::atomic<std::uint32_t> reg_seq_{0};
  std::atomic<std::uint64_t> reg_reactor_{0};
  std::atomic<int> reg_fd_{-1};
  std::atomic<std::uint32_t> reg_generation_{0};
  std::atomic<bool> reg_always_ready_{false};
};

}  // namespace balrog::net::detail
