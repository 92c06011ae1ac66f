// balrog/compat/posix_time.hpp — sleep, usleep and nanosleep, made safe to call on a fiber.
//
// balrog-gen's `posix-time` map rewrites calls of ::sleep, ::usleep and ::nanosleep in existing
// synchronous code to these functions. Same signatures, same results:
//
//  - Plain thread (no balrog scheduler on this thread: sync mode): the libc function is called.
//  - On a fiber: the fiber sleeps on the shard's timers (other fibers keep running); the thread
//    does not. Times are measured on CLOCK_MONOTONIC (std::chrono::steady_clock), as Linux's
//    nanosleep does. A zero duration yields to the other ready fibers and returns 0 (on a
//    thread the kernel would reschedule; on a fiber nothing else could run otherwise).
//    nanosleep checks its argument like libc: -1/EINVAL when tv_nsec is outside
//    [0, 999999999] or tv_sec is negative, -1/EFAULT for a null `req`.
//
// Interruptions. Signals never interrupt these sleeps on a fiber (no EINTR). What does interrupt
// them is balrog's own:
//  - ECANCELED: the fiber was cancelled (balrog::fiber::cancel), before or during the sleep;
//  - ETIMEDOUT: an enclosing balrog::deadline_scope ended before the sleep did;
//  - EDEADLK: called inside C++20 coroutine code (a balrog::task, or a chain driven by
//    balrog::await) with a non-zero duration: sleeping there would stall the whole shard (use
//    co_await balrog::sleep_for). Nothing was slept.
// They are reported the way a signal interruption is, but with these errno values instead of
// EINTR: cancellation is sticky, and the usual `while (nanosleep(&req, &req) == -1 && errno ==
// EINTR)` loop would otherwise spin forever; with ECANCELED it ends.
//  - nanosleep and usleep return -1 with errno set; nanosleep stores the time left in *rem
//    when rem is not null (as for EINTR; rem is untouched on success and on EINVAL/EFAULT).
//  - sleep returns the whole seconds left (rounded down, exactly as glibc computes it), with
//    errno set; on success it returns 0 and leaves errno alone.
// Before returning ECANCELED or ETIMEDOUT the fiber yields once, so a loop that ignores the
// error slows down to a yield loop instead of stalling the shard.
//
// None of these functions throws. Like libc's, they are thread-cancellation points and are not
// declared noexcept.
#pragma once

#include <time.h>
#include <unistd.h>

namespace balrog::compat {

unsigned int sleep(unsigned int seconds);
int usleep(useconds_t usec);
int nanosleep(const struct timespec* req, struct timespec* rem);

}  // namespace balrog::compat
