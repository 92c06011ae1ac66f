#include "compat/wait_for_fd.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <memory>
#include <new>
#include <optional>
#include <thread>

#include "balrog/errors.hpp"
#include "core/scheduler.hpp"

namespace balrog::compat::detail {

namespace {

using balrog::detail::fd_wait;
using balrog::detail::reactor;
using balrog::detail::scheduler;
using balrog::detail::wake_reason;

constexpr short read_interest = POLLIN | POLLRDNORM;
constexpr short write_interest = POLLOUT | POLLWRNORM;
// How often interests epoll cannot arm precisely are looked at again.
constexpr auto recheck_slice = std::chrono::milliseconds(10);

// Readiness the reactor reports exactly what poll(2) asks for: read (EPOLLIN, EPOLLRDHUP
// alongside) and write (EPOLLOUT). Anything else would either never wake us (POLLPRI is not
// armed) or wake us for events poll then does not report, again and again (POLLRDHUP alone
// would be woken by plain data): those are re-checked on a timer instead.
bool precise(short events) noexcept {
  const bool reads = (events & read_interest) != 0;
  const bool writes = (events & write_interest) != 0;
  // POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not.
  const short rest = static_cast<short>(
      events & ~(read_interest | write_interest | POLLRDHUP | POLLERR | POLLHUP | POLLNVAL));
  return (reads || writes) && rest == 0 && ((events & POLLRDHUP) == 0 || reads);
}

// The reactor registrations of one wait (one per fd and direction, all for the same context),
// removed when it ends. The first event claims the context (try_wake); the reactor skips the
// other registrations when their events come, and the destructor unqueues the rest. A few live
// inline; poll/select over many fds use the heap.
class registrations {
 public:
  registrations(reactor& r, balrog::detail::execution_context& ctx, std::size_t capacity)
      : reactor_(r), ctx_(ctx) {
    if (capacity > inline_.size()) heap_ = std::make_unique<std::optional<fd_wait>[]>(capacity);
  }
  registrations(const registrations&) = delete;
  registrations& operator=(const registrations&) = delete;
  ~registrations() {
    for (std::size_t i = 0; i < used_; ++i) {
      if (std::optional<fd_wait>& w = slot(i)) reactor_.remove(*w);
    }
  }

  enum class outcome : std::uint8_t { waiting, ready_now, failed };
  // `err` holds the reason after `failed`.
  outcome add(int fd, bool for_write, int& err) {
    std::optional<fd_wait>& w = slot(used_++);
    w.emplace(ctx_, fd, for_write);
    try {
      if (reactor_.add(*w) == reactor::registration::waiting) return outcome::waiting;
      w.reset();  // epoll cannot watch it (regular file): always ready
      return outcome::ready_now;
    } catch (const io_error& e) {
      w.reset();
      // A bad fd is the caller's to report, through its own call: treat it as ready.
      if (e.code() == std::errc::bad_file_descriptor) return outcome::ready_now;
      err = e.code().value();
      return outcome::failed;
    }
  }

 private:
  std::optional<fd_wait>& slot(std::size_t i) noexcept { return heap_ ? heap_[i] : inline_[i]; }

  reactor& reactor_;
  balrog::detail::execution_context& ctx_;
  std::array<std::optional<fd_wait>, 2> inline_{};
  std::unique_ptr<std::optional<fd_wait>[]> heap_;
  std::size_t used_ = 0;
};

// Registers every interest, waits, and unregisters (before returning: the caller may yield).
// After `failed`, `err` holds the errno.
wait_status wait_registered(std::span<const pollfd> fds, deadline own, scheduler& s, int& err) {
  balrog::detail::execution_context& ctx = *s.running();
  std::size_t needed = 0;
  bool sliced = false;
  for (const pollfd& p : fds) {
    if (p.fd < 0) continue;
    needed +=
        ((p.events & read_interest) != 0 ? 1 : 0) + ((p.events & write_interest) != 0 ? 1 : 0);
    sliced = sliced || !precise(p.events);
  }
  // Registering before prepare_wait is safe: only this thread's loop wakes fd waiters.
  registrations regs(s.io(), ctx, needed);
  for (const pollfd& p : fds) {
    if (p.fd < 0) continue;
    for (const bool for_write : {false, true}) {
      if ((p.events & (for_write ? write_interest : read_interest)) == 0) continue;
      switch (regs.add(p.fd, for_write, err)) {
        case registrations::outcome::waiting:
          break;
        case registrations::outcome::ready_now:
          return wait_status::woken;
        case registrations::outcome::failed:
          return wait_status::failed;
      }
    }
  }
  deadline until = own;
  if (sliced) until = earliest(own, deadline(recheck_slice));
  const bool slice_first = until.when() < own.when();
  ctx.prepare_wait();
  ctx.waiting_on = fds.empty() ? "compat sleep" : "compat fd";
  const wake_reason why = ctx.wait(until);
  ctx.waiting_on = nullptr;
  switch (why) {
    case wake_reason::notified:
      return wait_status::woken;
    case wake_reason::timeout:
      return slice_first ? wait_status::woken : wait_status::timed_out;
    case wake_reason::scope_timeout:
      err = ETIMEDOUT;
      return wait_status::failed;
    case wake_reason::cancelled:
      err = ECANCELED;
      return wait_status::failed;
    case wake_reason::misuse:
      break;
  }
  err = EDEADLK;
  return wait_status::failed;
}

}  // namespace

place current_place() noexcept {
  scheduler* s = scheduler::current();
  if (s == nullptr) return place::thread;
  const balrog::detail::fiber_context* f = s->running();
  if (f == nullptr || f->coroutine_depth > 0) return place::coroutine;
  return place::fiber;
}

wait_status wait_any(std::span<const pollfd> fds, deadline own) noexcept {
  if (current_place() != place::fiber) {
    errno = EDEADLK;
    return wait_status::failed;
  }
  scheduler& s = *scheduler::current();
  int err = 0;
  wait_status status = wait_status::failed;
  try {
    status = wait_registered(fds, own, s, err);
  } catch (const std::bad_alloc&) {
    err = ENOMEM;
  } catch (const io_error& e) {
    err = e.code().value();
  }
  if (status != wait_status::failed) return status;
  // Code that retries on any error must not starve the other fibers of the shard: a sticky
  // cancellation or a passed deadline would otherwise fail every call at once.
  if (err == ECANCELED || err == ETIMEDOUT) s.yield();
  errno = err;
  return wait_status::failed;
}

short poll_now(int fd, short events) noexcept {
  pollfd p{fd, events, 0};
  int n = 0;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return POLLERR;
  return n > 0 ? p.revents : short{0};
}

int wait_for_fd(int fd, short events, deadline own) noexcept {
  const pollfd interest{fd, events, 0};
  for (;;) {
    switch (wait_any({&interest, 1}, own)) {
      case wait_status::woken:
        break;
      case wait_status::timed_out:
        return 0;
      case wait_status::failed:
        return -1;
    }
    if (const short revents = poll_now(fd, events)) return revents;
  }
}

int sleep_until(deadline until) noexcept {
  if (until.expired()) {
    yield_now();
    return 0;
  }
  for (;;) {
    switch (wait_any({}, until)) {
      case wait_status::timed_out:
        return 0;
      case wait_status::failed:
        return errno;
      case wait_status::woken:
        break;  // cannot happen without fds; be safe and wait on
    }
  }
}

void yield_now() noexcept {
  switch (current_place()) {
    case place::fiber:
      scheduler::current()->yield();
      return;
    case place::thread:
    case place::coroutine:
      std::this_thread::yield();
      return;
  }
}

}  // namespace balrog::compat::detail
