// balrog/this_fiber.hpp — what the running fiber can do to itself.
//
// Every function here also works on a plain thread with no runtime (sync mode): yield()
// yields the thread, the sleeps block it, id() is fiber_id{} and name() is empty.
//
// Cancellation is cooperative. fiber::cancel() sets a flag on the fiber and, if the fiber is
// suspended, wakes it: the suspension point it was parked in throws balrog::cancelled. If it
// was running, the next suspension point throws instead. The flag stays set: every later
// suspension point throws too, so a fiber cannot swallow a cancellation by accident and block
// again. Code that must still wait while cancelled (closing a connection politely) opens a
// cancellation_shield; bound that code with a deadline_scope. Pure computation is never
// interrupted: poll cancellation_requested() in long loops.
//
// Suspension points: yield, the sleeps, join, every wait of the sync primitives, fd waits and
// socket operations that would block, offload.
#pragma once

#include <chrono>
#include <string_view>

#include "balrog/deadline.hpp"
#include "balrog/fiber.hpp"

namespace balrog::this_fiber {

// Lets every other ready fiber run once, then continues. Throws cancelled when cancelled.
void yield();

// Suspends until `until`. A time in the past yields instead. Throws timeout_error if an
// enclosing deadline_scope ends first, cancelled when cancelled.
void sleep_until(clock::time_point until);

// Suspends for `d`. Zero or negative durations yield (they never throw std::invalid_argument,
// as std::this_thread::sleep_for does not).
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  sleep_until(deadline(d).when());
}

[[nodiscard]] fiber_id id() noexcept;
// The fiber's name (fiber_options::name, or "fiber-<id>"); empty off-fiber.
[[nodiscard]] std::string_view name() noexcept;

// True once fiber::cancel() was called for this fiber (shielded or not).
[[nodiscard]] bool cancellation_requested() noexcept;

// While one exists, suspension points of this fiber do not throw cancelled (deadlines still
// apply). A pending cancellation takes effect at the first suspension after the last shield
// closes.
class cancellation_shield {
 public:
  cancellation_shield() noexcept;
  ~cancellation_shield();
  cancellation_shield(const cancellation_shield&) = delete;
  cancellation_shield& operator=(const cancellation_shield&) = delete;
};

}  // namespace balrog::this_fiber
