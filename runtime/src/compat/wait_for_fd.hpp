// How the compat layer waits: where the caller runs, readiness waits on the shard's reactor and
// sleeps on its timers, honouring deadline_scope and cancellation and reporting errno values
// instead of balrog's exceptions. Every compat function waits through these and nothing else.
#pragma once

#include <poll.h>

#include <cstdint>
#include <optional>
#include <span>

#include "balrog/deadline.hpp"
#include "io/fd_waits.hpp"

namespace balrog::compat::detail {

enum class place : std::uint8_t {
  thread,     // no balrog scheduler on this thread (sync mode): call libc
  fiber,      // a fiber, outside coroutine code: wait on the reactor
  coroutine,  // coroutine code (a task, a chain driven by balrog::await) or the scheduler's
              // loop: waiting would stall the shard, so it is refused with EDEADLK
};
[[nodiscard]] place current_place() noexcept;

enum class wait_status : std::uint8_t {
  woken,      // something happened: look again (wake-ups can be spurious)
  timed_out,  // the call's own deadline passed
  failed,     // errno says why: ECANCELED (fiber cancelled), ETIMEDOUT (deadline_scope),
              // EDEADLK (not on a fiber), or why the reactor cannot watch an fd (ENOMEM...)
};

// Suspends the calling fiber until the reactor reports one of `fds` ready for its `events`
// (errors and hang-ups always count), or `own` passes. Entries with a negative fd are ignored;
// with no fds at all this is a sleep. An fd the reactor cannot watch (a regular file) or that
// is invalid (EBADF) counts as ready: the caller's next call reports on it. Interests epoll
// cannot arm precisely (POLLPRI, POLLRDBAND, POLLWRBAND, POLLRDHUP alone, no events) are
// re-checked every 10 ms: the wait then also ends as `woken` at each slice.
// The fiber yields once before returning `failed` with ECANCELED or ETIMEDOUT, so callers that
// retry on any error cannot starve the shard.
// `revents`, if given, gets what the reactor saw for the fd that ended the wait (epoll's bits,
// which are poll's; POLLNVAL: the fd was closed under the wait, or is bad; 0: nothing known).
wait_status wait_any(std::span<const pollfd> fds, deadline own,
                     std::uint32_t* revents = nullptr) noexcept;

// wait_any in two halves, so that a caller can decide between them whether to wait at all:
// arm() publishes the interests on the reactor — which proves each fd number still means the
// file the reactor remembers facts about —, wait() waits and unpublishes. Not waiting after
// arm() (cancel(), or the destructor) takes everything back. On a fiber only.
class armed_wait {
 public:
  explicit armed_wait(std::span<const pollfd> fds) noexcept;
  armed_wait(const armed_wait&) = delete;
  armed_wait& operator=(const armed_wait&) = delete;
  ~armed_wait();

  enum class state : std::uint8_t {
    armed,   // published: wait() or cancel()
    ready,   // something is ready (or closed, or bad) already: revents() says what; not armed
    failed,  // errno: EDEADLK (not on a fiber), ENOMEM, why the reactor cannot watch an fd
  };
  state arm() noexcept;
  // After arm() returned armed: what the reactor remembers of fds[0], for this file.
  [[nodiscard]] balrog::detail::fd_facts& facts() noexcept;
  // wait_any's second half: woken, timed_out, or failed (errno: ECANCELED, ETIMEDOUT...).
  wait_status wait(deadline own) noexcept;
  void cancel() noexcept;
  // What the reactor saw (as wait_any's `revents`).
  [[nodiscard]] std::uint32_t revents() const noexcept { return revents_; }

 private:
  std::span<const pollfd> fds_;
  balrog::detail::execution_context* ctx_ = nullptr;
  std::optional<balrog::detail::fd_waits> waits_;
  std::uint32_t revents_ = 0;
  bool sliced_ = false;
  bool prepared_ = false;
};

// The revents of a zero-timeout poll(2): the runtime's one (reactor/poll_now.hpp).
using balrog::detail::poll_now;

// Waits until `fd` reports `events` or an error condition, as the reactor's event says (a
// poll(2) only when the wake-up says nothing: a re-check slice). Returns the revents (> 0;
// POLLNVAL when the fd was closed under the wait: the caller's next call must not use the
// number), 0 when `own` passed first, -1 when wait_any failed (errno set). Starts by waiting:
// call poll_now first when the fd may be ready already.
int wait_for_fd(int fd, short events, deadline own) noexcept;

// Suspends the calling fiber until `until`; a time already past yields to the other ready
// fibers (in coroutine code: returns at once). Returns 0 when the time came, else the errno it
// also stores: ECANCELED, ETIMEDOUT, EDEADLK (coroutine code, with a time still ahead).
int sleep_until(deadline until) noexcept;

// Lets the other ready fibers run (on a fiber); std::this_thread::yield elsewhere. Never
// fails: cancellation is not checked here.
void yield_now() noexcept;

}  // namespace balrog::compat::detail
