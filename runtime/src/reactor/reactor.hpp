// The reactor of one scheduler: epoll, plus an eventfd other threads use to interrupt it.
//
// Level-triggered with EPOLLONESHOT, armed per wait. Why not edge-triggered with a permanent
// registration (Go, Tokio)? Because balrog waits on fds it does not own: the compat layer
// (recv, send, PQconsumeInput...) waits on fds the user opens and closes behind our back, and
// a stale permanent registration of a closed-and-reused fd number would miss its first edge
// and hang a fiber. A oneshot arm per wait costs one epoll_ctl, and survives fd reuse: MOD
// failing with ENOENT means "closed since", and we ADD again. Level triggering also means a
// waiter that leaves early (timeout) loses nothing: readiness is reported again to the next.
//
// Several contexts may wait on one fd in the same direction (e.g. fibers sharing a listener);
// each event wakes one of them, in arrival order, and re-arms for the rest.
#pragma once

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/detail/fd_wait.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog::detail {

class reactor {
 public:
  reactor();
  ~reactor();
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  enum class registration { waiting, always_ready };

  // Queues `w` and arms its fd. `always_ready` means epoll cannot watch this fd (regular
  // files): nothing was queued. Throws io_error for a bad fd.
  registration add(fd_wait& w);
  // Dequeues a waiter that left early (timeout, cancellation). The fd stays armed: a later
  // event finds nobody and is dropped.
  void remove(fd_wait& w) noexcept;

  // Waits for events up to `timeout` (negative: forever; zero: just look) and wakes the
  // waiters of ready fds. Returns how many waiters it woke.
  std::size_t poll(clock::duration timeout);

  // Makes a concurrent or the next poll() return. Thread-safe, async-signal-safe.
  void interrupt() noexcept;

  // In a forked child that abandons this reactor: closes the child's copies of the epoll fd and
  // the eventfd (the parent's stay open); the object must not be used afterwards.
  void close_after_fork() noexcept;

  [[nodiscard]] std::size_t waiters() const noexcept { return waiters_; }
  [[nodiscard]] int native_handle() const noexcept { return epoll_fd_; }

 private:
  struct fd_entry {
    wait_queue readers;
    wait_queue writers;
    std::uint32_t armed = 0;  // events armed now; EPOLLONESHOT clears them on delivery
    bool registered = false;  // believed to be in the epoll set (fd reuse can make this stale)
  };

  fd_entry& entry(int fd);
  // Arms the events `e`'s waiters need; false if epoll cannot watch the fd. Throws io_error.
  bool arm(int fd, fd_entry& e);
  // Wakes the first claimable waiter of `q` (or all of them).
  std::size_t wake(wait_queue& q, bool all) noexcept;
  void drain_interrupts() noexcept;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<fd_entry> fds_;
  std::size_t waiters_ = 0;
  std::vector<epoll_event> events_;
};

}  // namespace balrog::detail
