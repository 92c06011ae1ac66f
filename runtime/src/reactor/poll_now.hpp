// The one "look, don't wait" of the runtime (reactor/, below the fd-wait path of io/, which
// uses it for past deadlines, as do the reactor's edge registrations and the compat layer).
#pragma once

#include <cstdint>

namespace balrog::detail {

// The revents of a zero-timeout poll(2) of `fd` for `events` (EINTR retried): 0 when nothing
// is ready, POLLNVAL (which is fd_closed_event) for a bad fd, POLLERR when poll itself fails
// (the caller's next call on the fd reports the problem). The one "look, don't wait" of the
// runtime: past deadlines, the compat layer, plain waits on edge registrations.
short poll_now(int fd, short events) noexcept;
// How many poll_now calls this thread made: a test hook, so that tests can show a wait that
// learned readiness from the reactor's event made no poll(2) to confirm it.
[[nodiscard]] std::uint64_t poll_now_calls() noexcept;

}  // namespace balrog::detail
