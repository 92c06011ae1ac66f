// The seam between a scheduler and its event loop (folly's LoopController): every call the
// scheduler makes into the loop, each saying who calls it, and nothing else. The epoll reactor
// (reactor.hpp) is the loop today; an io_uring backend implements the same three calls. How
// contexts wait for fds is the loop's own business (the fd-wait path in fd_waits.hpp reaches
// the loop of its thread directly), not the scheduler's.
//
// An io_uring backend, sketched against this seam (nothing of it exists yet): poll() submits
// what is queued and waits with io_uring_enter(min_complete = 1, timeout), then completes
// the waits whose CQEs came; interrupt() is the same eventfd, read by a multishot POLL_ADD
// (or IORING_OP_MSG_RING from another ring); waiters() counts the contexts with a poll in
// flight. The fd-wait path would map onto it unchanged: a oneshot arm is IORING_OP_POLL_ADD,
// a registration (edge) a multishot POLL_ADD whose CQEs set the same readiness cache, and a
// deregistration POLL_REMOVE. The scheduler would not change.
#pragma once

#include <cstddef>

#include "balrog/deadline.hpp"

namespace balrog::detail {

class event_loop {
 public:
  event_loop() = default;
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // The scheduler's loop: waits up to `timeout` for events (negative: no limit; zero: just
  // look), and wakes the contexts waiting for what happened. Returns how many it woke.
  virtual std::size_t poll(clock::duration timeout) = 0;

  // Any thread (a remote wake-up, a post, a stop request): makes a concurrent poll(), or the
  // next one, return at once. Async-signal-safe.
  virtual void interrupt() noexcept = 0;

  // The scheduler's loop, before a non-blocking poll() between batches: how many contexts
  // wait on an fd. Zero means such a look cannot wake anyone.
  [[nodiscard]] virtual std::size_t waiters() const noexcept = 0;

 protected:
  ~event_loop() = default;
};

}  // namespace balrog::detail
