// balrog/sync/event.hpp — a manual-reset event: fibers wait until someone sets it.
//
// Starts unset. set() wakes every waiter and lets later waits pass at once, until reset().
// Like asyncio.Event or absl::Notification (which cannot be reset). Works on fibers, plain
// threads and across shards.
//
//  set(), reset()       Never wait; callable from any thread.
//  is_set()             A snapshot.
//  wait()               Returns at once if set. Suspension point: throws balrog::cancelled and
//                       balrog::timeout_error (enclosing deadline_scope).
//  wait_for/wait_until  Same, with their own time limit: false when it passed first.
//                       A past deadline still returns true if the event is set.
#pragma once

#include <chrono>

#include "balrog/deadline.hpp"
#include "balrog/detail/gate.hpp"

namespace balrog {

class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  void set() noexcept { gate_.open(); }
  void reset() noexcept { gate_.close(); }
  [[nodiscard]] bool is_set() const noexcept { return gate_.is_open(); }

  void wait() { gate_.wait(deadline::never(), "event"); }
  template <class Rep, class Period>
  [[nodiscard]] bool wait_for(std::chrono::duration<Rep, Period> d) {
    return gate_.wait(deadline(d), "event");
  }
  template <class Clock, class Duration>
  [[nodiscard]] bool wait_until(std::chrono::time_point<Clock, Duration> t) {
    return gate_.wait(deadline(t), "event");
  }

 private:
  detail::gate gate_;
};

}  // namespace balrog
