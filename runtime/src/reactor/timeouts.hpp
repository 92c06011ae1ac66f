// How long a blocking system call may wait: a deadline (or a duration) turned into what
// poll(2), epoll_wait(2) and epoll_pwait2(2) take.
#pragma once

#include <ctime>

#include "balrog/deadline.hpp"

namespace balrog::detail {

// poll(2)'s and epoll_wait(2)'s timeout for a wait that must end by `until`: -1 for never, 0
// when already past, else the milliseconds left rounded up (waking early would spin until the
// time is due). Deadlines further away than an int of milliseconds (~24.8 days) are clamped:
// the wait wakes early, sees the deadline still ahead and waits again.
int poll_timeout_ms(deadline until) noexcept;

}  // namespace balrog::detail
