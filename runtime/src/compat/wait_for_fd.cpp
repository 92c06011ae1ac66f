#include "compat/wait_for_fd.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <memory>
#include <new>
#include <optional>
#include <thread>

#include "balrog/errors.hpp"
#include "core/shard/scheduler.hpp"
#include "io/fd_waits.hpp"

namespace balrog::compat::detail {

namespace {

using balrog::detail::fd_waits;
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

// Takes back the claim of a wait that turned out unnecessary (only this thread wakes fd
// waiters, so nobody can have claimed it; absorbed all the same if someone did).
void take_back(balrog::detail::execution_context& ctx) noexcept {
  if (!ctx.withdraw_wait()) (void)ctx.wait(deadline::never());
}

}  // namespace

place current_place() noexcept {
  const balrog::detail::execution_context& ctx = balrog::detail::current_context();
  // The runtime's one misuse check; a refusal is EDEADLK here, never an exception.
  if (balrog::detail::misuse_here(ctx) != balrog::detail::misuse_place::none) {
    return place::coroutine;
  }
  return ctx.is_fiber() ? place::fiber : place::thread;
}

armed_wait::armed_wait(std::span<const pollfd> fds) noexcept : fds_(fds) {}

armed_wait::~armed_wait() {
  if (prepared_) cancel();
}

armed_wait::state armed_wait::arm() noexcept {
  if (current_place() != place::fiber) {
    errno = EDEADLK;
    return state::failed;
  }
  scheduler& s = *scheduler::current();
  ctx_ = s.running();
  std::size_t needed = 0;
  for (const pollfd& p : fds_) {
    if (p.fd < 0) continue;
    needed +=
        ((p.events & read_interest) != 0 ? 1 : 0) + ((p.events & write_interest) != 0 ? 1 : 0);
    sliced_ = sliced_ || !precise(p.events);
  }
  // The fd-wait path's order (io/fd_waits.hpp): prepare, publish, wait, unpublish.
  ctx_->prepare_wait();
  prepared_ = true;
  int err = 0;
  try {
    waits_.emplace(*ctx_, needed);
    for (const pollfd& p : fds_) {
      if (p.fd < 0) continue;
      for (const bool for_write : {false, true}) {
        if ((p.events & (for_write ? write_interest : read_interest)) == 0) continue;
        try {
          if (waits_->add(s.io(), p.fd, for_write) == reactor::queued::waiting) continue;
          revents_ = waits_->revents();
        } catch (const io_error& e) {
          // A bad fd is the caller's to report, through its own call: treat it as ready.
          if (e.code() != std::errc::bad_file_descriptor) throw;
          revents_ = POLLNVAL;
        }
        cancel();
        return state::ready;
      }
    }
    return state::armed;
  } catch (const std::bad_alloc&) {
    err = ENOMEM;
  } catch (const io_error& e) {
    err = e.code().value();
  }
  cancel();
  errno = err;
  return state::failed;
}

balrog::detail::fd_facts& armed_wait::facts() noexcept {
  return *scheduler::current()->io().facts(fds_.front().fd);
}

void armed_wait::cancel() noexcept {
  if (!prepared_) return;
  if (waits_) waits_->remove_all();
  take_back(*ctx_);
  prepared_ = false;
}

wait_status armed_wait::wait(deadline own) noexcept {
  deadline until = own;
  if (sliced_) until = earliest(own, deadline(recheck_slice));
  const bool slice_first = until.when() < own.when();
  ctx_->waiting_on = fds_.empty() ? "compat sleep" : "compat fd";
  const wake_reason why = ctx_->wait(until);
  ctx_->waiting_on = nullptr;
  if (waits_) {
    waits_->remove_all();
    revents_ = waits_->revents();
  }
  prepared_ = false;
  int err = EDEADLK;
  switch (why) {
    case wake_reason::notified:
      return wait_status::woken;
    case wake_reason::timeout:
      return slice_first ? wait_status::woken : wait_status::timed_out;
    case wake_reason::scope_timeout:
      err = ETIMEDOUT;
      break;
    case wake_reason::cancelled:
      err = ECANCELED;
      break;
    case wake_reason::misuse:
      break;
  }
  // Code that retries on any error must not starve the other fibers of the shard: a sticky
  // cancellation or a passed deadline would otherwise fail every call at once.
  if (err == ECANCELED || err == ETIMEDOUT) scheduler::current()->yield();
  errno = err;
  return wait_status::failed;
}

wait_status wait_any(std::span<const pollfd> fds, deadline own, std::uint32_t* revents) noexcept {
  armed_wait w(fds);
  wait_status status = wait_status::woken;
  switch (w.arm()) {
    case armed_wait::state::failed:
      return wait_status::failed;
    case armed_wait::state::ready:
      break;
    case armed_wait::state::armed:
      status = w.wait(own);
      break;
  }
  if (revents != nullptr) *revents = w.revents();
  return status;
}

int wait_for_fd(int fd, short events, deadline own) noexcept {
  const pollfd interest{fd, events, 0};
  // What poll(2) would report for `events`: those, and the conditions it always reports.
  const auto reported = static_cast<std::uint32_t>(events | POLLERR | POLLHUP | POLLNVAL);
  for (;;) {
    std::uint32_t revents = 0;
    switch (wait_any({&interest, 1}, own, &revents)) {
      case wait_status::woken:
        break;
      case wait_status::timed_out:
        return 0;
      case wait_status::failed:
        return -1;
    }
    // The reactor's event says what is ready: no poll(2) to confirm it. Woken for nothing in
    // particular (a re-check slice), look.
    if (const auto known = static_cast<short>(revents & reported)) return known;
    if (const short now = poll_now(fd, events)) return now;
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
