#include "reactor/reactor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <system_error>

#include "balrog/errors.hpp"
#include "reactor/describe_call.hpp"
#include "reactor/poll_now.hpp"
#include "reactor/timeouts.hpp"

namespace balrog::detail {

namespace {

constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP;
constexpr std::uint32_t write_events = EPOLLOUT;
constexpr std::uint32_t read_ready = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI;
constexpr std::uint32_t write_ready = EPOLLOUT | EPOLLHUP | EPOLLERR;
constexpr std::uint32_t edge_events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
// Edge registrations: events after which a direction never blocks again (the peer's FIN, a
// hang-up, an error). A read that drains the bytes still leaves the end of stream to read,
// and no new edge comes for it.
constexpr std::uint32_t read_closed = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr std::uint32_t write_closed = EPOLLHUP | EPOLLERR;

std::uint32_t interest_of(bool for_write) noexcept {
  return for_write ? write_events : read_events;
}

std::uint64_t new_serial() noexcept {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

[[noreturn]] void throw_ctl_error(int err, int fd) {
  throw_errno(err, describe_call("balrog: epoll_ctl", fd));
}

// epoll_pwait2 takes a timespec (nanoseconds); kernels before 5.11 lack it.
int wait_events(int epfd, epoll_event* events, int max, clock::duration timeout) {
  using namespace std::chrono;
  if (timeout < clock::duration::zero()) return ::epoll_wait(epfd, events, max, -1);
  static bool have_pwait2 = true;
  if (have_pwait2) {
    const auto ns = duration_cast<nanoseconds>(timeout).count();
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    const int n = ::epoll_pwait2(epfd, events, max, &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    have_pwait2 = false;
  }
  return ::epoll_wait(epfd, events, max, poll_timeout_ms(deadline(timeout)));
}

}  // namespace

reactor::reactor() : serial_(new_serial()), events_(256) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("balrog: epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int err = errno;
    ::close(epoll_fd_);
    throw_errno(err, "balrog: eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;                                 // level-triggered: drained on every wake-up
  ev.data.u64 = static_cast<std::uint32_t>(wake_fd_);  // generation 0: no fd entry has it
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    const int err = errno;
    ::close(wake_fd_);
    ::close(epoll_fd_);
    throw_errno(err, "balrog: epoll_ctl(eventfd)");
  }
}

reactor::~reactor() {
  if (wakeup_read_fd_ >= 0) ::close(wakeup_read_fd_);
  if (wakeup_write_fd_ >= 0) ::close(wakeup_write_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void reactor::close_after_fork() noexcept {
  if (wakeup_read_fd_ >= 0) ::close(wakeup_read_fd_);
  if (wakeup_write_fd_ >= 0) ::close(wakeup_write_fd_);
  ::close(wake_fd_);
  ::close(epoll_fd_);
  wakeup_read_fd_ = wakeup_write_fd_ = wakeup_forward_fd_ = -1;
  wake_fd_ = epoll_fd_ = -1;
}

int reactor::wakeup_fd() {
  if (wakeup_write_fd_ >= 0) return wakeup_write_fd_;
  // A pipe, not the eventfd: a signal handler writes single bytes (CPython's writes the
  // signal's number), which an eventfd refuses (EINVAL: it takes 8-byte counts).
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("balrog: pipe2(wakeup fd)");
  epoll_event ev{};
  ev.events = EPOLLIN;                                // level-triggered: drained on every wake-up
  ev.data.u64 = static_cast<std::uint32_t>(ends[0]);  // generation 0: no fd entry has it
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ends[0], &ev) != 0) {
    const int err = errno;
    ::close(ends[0]);
    ::close(ends[1]);
    throw_errno(err, "balrog: epoll_ctl(wakeup fd)");
  }
  wakeup_read_fd_ = ends[0];
  wakeup_write_fd_ = ends[1];
  return wakeup_write_fd_;
}

// --- entries ---------------------------------------------------------------------------------

reactor::fd_entry& reactor::entry(int fd) {
  const auto i = static_cast<std::size_t>(fd);
  if (i >= fds_.size()) {
    // Growing the table for a bogus fd number would cost memory for nothing: check it first.
    if (::fcntl(fd, F_GETFD) < 0) throw_errno(describe_call("balrog: wait", fd));
    const std::size_t size = std::max<std::size_t>(64, std::bit_ceil(i + 1));
    facts_.resize(size);
    fds_.resize(size);
  }
  return fds_[i];
}

reactor::fd_entry* reactor::find(int fd) noexcept {
  const auto i = static_cast<std::size_t>(fd);
  return fd >= 0 && i < fds_.size() ? &fds_[i] : nullptr;
}

int reactor::control(int op, int fd, std::uint32_t events, std::uint32_t generation) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
  return ::epoll_ctl(epoll_fd_, op, fd, &ev) == 0 ? 0 : errno;
}

void reactor::retire(fd_entry& e, std::uint32_t revents) noexcept {
  ++e.generation;
  e.mode = arming::none;
  e.armed = 0;
  e.level_parked = false;
  e.ready = 0;
  e.closed = 0;
  e.handed = 0;
  wake(e.readers, revents, true);
  wake(e.writers, revents, true);
}

void reactor::enqueue(fd_wait& w, fd_entry& e) noexcept {
  (w.for_write ? e.writers : e.readers).push_back(w);
  ++waiters_;
}

bool reactor::registered_here(const io_registration& reg, const fd_entry& e) const noexcept {
  return reg.reactor == serial_ && !reg.always_ready && reg.generation == e.generation &&
         (e.mode == arming::edge || e.mode == arming::level);
}

bool reactor::current(const io_registration& reg) const noexcept {
  if (reg.reactor != serial_) return false;
  if (reg.always_ready) return true;
  const auto i = static_cast<std::size_t>(reg.fd);
  return reg.fd >= 0 && i < fds_.size() && registered_here(reg, fds_[i]);
}

// --- arming ----------------------------------------------------------------------------------

bool reactor::arm_plain(int fd, fd_entry& e, std::uint32_t want) {
  if (e.mode == arming::oneshot) {
    const std::uint32_t events = want | e.armed;
    const int err = control(EPOLL_CTL_MOD, fd, events | EPOLLONESHOT, e.generation);
    if (err == 0) {
      e.armed = events;
      return true;
    }
    if (err != ENOENT) throw_ctl_error(err, fd);
    // Not in the set any more: the fd was closed since we armed it (the number may mean another
    // file now). Whoever waited on the old file learns it is gone.
    retire(e, fd_closed_event);
  }
  int err = control(EPOLL_CTL_ADD, fd, want | EPOLLONESHOT, e.generation);
  if (err == EEXIST) {
    // In the set through an fd we no longer track (the same file under this number again).
    err = control(EPOLL_CTL_MOD, fd, want | EPOLLONESHOT, e.generation);
  }
  if (err == 0) {
    e.mode = arming::oneshot;
    e.armed = want;
    return true;
  }
  if (err == EPERM) return false;  // regular file, directory: always ready
  throw_ctl_error(err, fd);
}

bool reactor::register_fd(int fd, fd_entry& e, io_mode mode, io_registration& reg) {
  const std::uint32_t events = mode == io_mode::edge ? edge_events : read_events;
  int err = control(EPOLL_CTL_ADD, fd, events, e.generation + 1);
  if (err == 0) {
    // Whatever the entry believed was armed belonged to a file that is gone.
    if (e.mode != arming::none) {
      retire(e, fd_closed_event);
    } else {
      ++e.generation;
    }
  } else if (err == EEXIST) {
    // This very file is in the set already (plain waits armed it, or an older registration of
    // it): take the registration over; its waiters wait for this file, the generation stays.
    err = control(EPOLL_CTL_MOD, fd, events, e.generation);
    if (err != 0) throw_ctl_error(err, fd);
  } else if (err == EPERM) {
    reg = {serial_, fd, 0, true};
    return false;
  } else {
    throw_ctl_error(err, fd);
  }
  e.mode = mode == io_mode::edge ? arming::edge : arming::level;
  e.armed = mode == io_mode::edge ? 0 : read_events;
  e.level_parked = false;
  e.handed = 0;
  // Edge: not known yet, so the owner tries (and learns) before it waits.
  e.ready = mode == io_mode::edge ? read_bit | write_bit : 0;
  e.closed = 0;
  e.read_tick = e.write_tick = tick_;
  reg = {serial_, fd, e.generation, false};
  return true;
}

bool reactor::enable_level(int fd, fd_entry& e, std::uint32_t want) {
  if (!e.level_parked && (e.armed & want) == want) return true;
  const std::uint32_t interest = e.armed | want;
  const int err = control(EPOLL_CTL_MOD, fd, interest, e.generation);
  if (err == ENOENT || err == EBADF) {
    // Closed behind its owner's back: the registration is over.
    retire(e, fd_closed_event);
    return false;
  }
  if (err != 0) throw_ctl_error(err, fd);
  e.armed = interest;
  e.level_parked = false;
  return true;
}

reactor::queued reactor::join(fd_wait& w, fd_entry& e, bool verify) {
  if (e.mode == arming::level) {
    if (!enable_level(w.fd, e, interest_of(w.for_write))) {
      w.revents = fd_closed_event;
      return queued::ready;
    }
  } else {
    const std::uint8_t bit = w.for_write ? write_bit : read_bit;
    if ((e.ready & bit) != 0) {
      if (!verify) {
        w.revents = interest_of(w.for_write);
        return queued::ready;
      }
      // Nobody clears this readiness for a plain waiter: ask the kernel about now.
      if (const short now = poll_now(w.fd, w.for_write ? POLLOUT : POLLIN)) {
        w.revents = static_cast<std::uint16_t>(now);
        return queued::ready;
      }
      e.ready = static_cast<std::uint8_t>(e.ready & ~bit);
    }
  }
  enqueue(w, e);
  return queued::waiting;
}

reactor::queued reactor::add(fd_wait& w) {
  if (w.fd < 0) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                   describe_call("balrog: wait", w.fd));
  }
  fd_entry& e = entry(w.fd);
  const std::uint32_t want = interest_of(w.for_write);
  if (e.mode == arming::edge || e.mode == arming::level) {
    // An owner registered this number. If that is still this file's registration, an ADD finds
    // it (EEXIST) and we wait through it; if the ADD succeeds, the owner's file is gone.
    const int err = control(EPOLL_CTL_ADD, w.fd, want | EPOLLONESHOT, e.generation + 1);
    if (err == EEXIST) return join(w, e, e.mode == arming::edge);
    if (err != 0) throw_ctl_error(err, w.fd);
    retire(e, fd_closed_event);
    e.mode = arming::oneshot;
    e.armed = want;
  } else if (!arm_plain(w.fd, e, want)) {
    w.revents = want;
    return queued::ready;
  }
  enqueue(w, e);
  return queued::waiting;
}

reactor::queued reactor::add(fd_wait& w, io_registration& reg, io_mode mode) {
  if (w.fd < 0) {
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                   describe_call("balrog: wait", w.fd));
  }
  fd_entry& e = entry(w.fd);
  if (reg.fd != w.fd || !registered_here(reg, e)) {
    if (reg.always_ready && reg.reactor == serial_ && reg.fd == w.fd) {
      w.revents = interest_of(w.for_write);
      return queued::ready;
    }
    if (!register_fd(w.fd, e, mode, reg)) {
      w.revents = interest_of(w.for_write);
      return queued::ready;
    }
    // Registered by a wait: its owner has just found this direction not ready.
    if (mode == io_mode::edge)
      e.ready = static_cast<std::uint8_t>(e.ready & ~(w.for_write ? write_bit : read_bit));
  }
  w.through_registration = true;
  const queued q = join(w, e, false);
  if (q == queued::waiting || mode != io_mode::level || (w.revents & fd_closed_event) == 0)
    return q;
  // The registered file was closed behind its owner's back and the number means another file
  // now: a level owner (a library's socket) waits on the fd as it is, so register that one.
  w.revents = 0;
  if (!register_fd(w.fd, e, mode, reg)) {
    w.revents = interest_of(w.for_write);
    return queued::ready;
  }
  return join(w, e, false);
}

reactor::queued reactor::add(fd_wait& node, fd_wait* writer, io_registration& reg, io_mode mode) {
  if (add(node, reg, mode) != queued::waiting) return queued::ready;
  if (writer == nullptr) return queued::waiting;
  try {
    if (add(*writer, reg, mode) == queued::waiting) return queued::waiting;
  } catch (...) {
    remove(node);
    throw;
  }
  remove(node);
  return queued::ready;
}

void reactor::remove(fd_wait& w) noexcept {
  if (!w.linked) return;
  fd_entry& e = fds_[static_cast<std::size_t>(w.fd)];
  (w.for_write ? e.writers : e.readers).erase(w);
  --waiters_;
}

// --- registrations ---------------------------------------------------------------------------

void reactor::deregister(io_registration& reg, bool still_open) noexcept {
  if (reg.reactor == serial_ && !reg.always_ready) {
    if (fd_entry* e = find(reg.fd); e != nullptr && registered_here(reg, *e)) {
      if (still_open) {
        epoll_event ev{};
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, reg.fd, &ev);
      }
      retire(*e, still_open ? 0 : fd_closed_event);
    }
  }
  reg = {};
}

bool reactor::ready(const io_registration& reg, bool for_write) const noexcept {
  if (!current(reg) || reg.always_ready) return true;
  const fd_entry& e = fds_[static_cast<std::size_t>(reg.fd)];
  return e.mode != arming::edge || (e.ready & (for_write ? write_bit : read_bit)) != 0;
}

void reactor::clear_ready(const io_registration& reg, bool for_write,
                          std::uint64_t since) noexcept {
  if (!current(reg) || reg.always_ready) return;
  fd_entry& e = fds_[static_cast<std::size_t>(reg.fd)];
  if (e.mode != arming::edge) return;
  const std::uint64_t learned = for_write ? e.write_tick : e.read_tick;
  if (learned <= since && (e.closed & (for_write ? write_bit : read_bit)) == 0) {
    e.ready = static_cast<std::uint8_t>(e.ready & ~(for_write ? write_bit : read_bit));
  }
}

// --- what compat sees ------------------------------------------------------------------------

void reactor::closing(int fd) noexcept {
  if (fd_entry* e = find(fd)) retire(*e, fd_closed_event);
}

fd_facts* reactor::facts(int fd) noexcept {
  fd_entry* e = find(fd);
  if (e == nullptr) return nullptr;
  facts_slot& f = facts_[static_cast<std::size_t>(fd)];
  if (f.generation != e->generation) {
    f.facts = {};
    f.generation = e->generation;
  }
  return &f.facts;
}

void reactor::forget_facts(int fd) noexcept {
  if (find(fd) != nullptr) facts_[static_cast<std::size_t>(fd)].facts.known = 0;
}

// --- events ----------------------------------------------------------------------------------

std::size_t reactor::poll(clock::duration timeout) {
  const int n = wait_events(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throw_errno("balrog: epoll_wait");
  }
  if (n == 0) return 0;
  ++tick_;
  std::size_t woken = 0;
  // With many fds an event's entry and its waiter (on the waiting fiber's stack) are both cold:
  // each event began with two dependent cache misses. Start loading the entry three events
  // ahead and, once it is in, the waiter it lists one event ahead.
  const auto entry_of = [&](int i) noexcept {
    return find(static_cast<int>(
        static_cast<std::uint32_t>(events_[static_cast<std::size_t>(i)].data.u64)));
  };
  for (int i = 0; i < n; ++i) {
    if (i + 3 < n) {
      if (const fd_entry* e = entry_of(i + 3)) __builtin_prefetch(e, 1, 3);
    }
    if (i + 1 < n) {
      if (const fd_entry* e = entry_of(i + 1)) __builtin_prefetch(e->readers.front(), 1, 3);
    }
    woken += dispatch(events_[static_cast<std::size_t>(i)]);
  }
  if (static_cast<std::size_t>(n) == events_.size()) events_.resize(events_.size() * 2);
  return woken;
}

std::size_t reactor::dispatch(const epoll_event& ev) {
  const int fd = static_cast<int>(static_cast<std::uint32_t>(ev.data.u64));
  const auto generation = static_cast<std::uint32_t>(ev.data.u64 >> 32);
  if (generation == 0) {
    if (fd == wake_fd_) {
      drain_interrupts();
      return 0;
    }
    if (fd == wakeup_read_fd_) {
      drain_wakeups();
      return 0;
    }
  }
  fd_entry* e = find(fd);
  // An event of a file that is gone (an old registration still in the set through a dup).
  if (e == nullptr || e->generation != generation) return 0;
  switch (e->mode) {
    case arming::none:
      return 0;
    case arming::oneshot:
      return dispatch_oneshot(fd, *e, ev.events);
    case arming::edge: {
      std::size_t woken = 0;
      if ((ev.events & read_closed) != 0) e->closed |= read_bit;
      if ((ev.events & write_closed) != 0) e->closed |= write_bit;
      if ((ev.events & read_ready) != 0) {
        e->ready |= read_bit;
        e->read_tick = tick_;
        woken += wake(e->readers, ev.events, true);
      }
      if ((ev.events & write_ready) != 0) {
        e->ready |= write_bit;
        e->write_tick = tick_;
        woken += wake(e->writers, ev.events, true);
      }
      return woken;
    }
    case arming::level:
      return dispatch_level(fd, *e, ev.events);
  }
  return 0;
}

std::size_t reactor::dispatch_oneshot(int fd, fd_entry& e, std::uint32_t events) {
  e.armed = 0;  // delivered, so disarmed
  std::size_t woken = 0;
  if ((events & read_ready) != 0) woken += wake(e.readers, events, false);
  if ((events & write_ready) != 0) woken += wake(e.writers, events, false);
  if (e.readers.empty() && e.writers.empty()) return woken;
  // Re-arm for the waiters left.
  const std::uint32_t want =
      (e.readers.empty() ? 0 : read_events) | (e.writers.empty() ? 0 : write_events);
  const int err = control(EPOLL_CTL_MOD, fd, want | EPOLLONESHOT, e.generation);
  if (err == 0) {
    e.armed = want;
  } else if (err == ENOENT || err == EBADF) {
    retire(e, fd_closed_event);  // closed since the event
  } else {
    // The fd went bad under its waiters; their next call reports why.
    woken += wake(e.readers, events, true) + wake(e.writers, events, true);
  }
  return woken;
}

std::size_t reactor::dispatch_level(int fd, fd_entry& e, std::uint32_t events) {
  std::size_t woken = 0;
  std::uint32_t drop = 0;
  for (const bool for_write : {false, true}) {
    if ((events & (for_write ? write_ready : read_ready)) == 0) continue;
    const std::uint8_t bit = for_write ? write_bit : read_bit;
    if (const std::size_t n = wake(for_write ? e.writers : e.readers, events, false); n > 0) {
      woken += n;
      e.handed |= bit;
    } else if ((e.handed & bit) != 0) {
      e.handed = static_cast<std::uint8_t>(e.handed & ~bit);  // its waiter has not read yet
    } else {
      drop |= interest_of(for_write);  // nobody wants it: stop hearing about it
    }
  }
  if (e.level_parked) return woken;  // that was the one report EPOLLONESHOT let through
  const std::uint32_t interest = e.armed & ~drop;
  if (drop == 0 || interest == e.armed) return woken;
  // No interest left: EPOLLONESHOT, so that hang-ups and errors (always reported) stop too.
  const int err = control(EPOLL_CTL_MOD, fd, interest == 0 ? EPOLLONESHOT : interest, e.generation);
  if (err == 0) {
    e.armed = interest;
    e.level_parked = interest == 0;
  } else if (err == ENOENT || err == EBADF) {
    retire(e, fd_closed_event);
  }
  return woken;
}

std::size_t reactor::wake(wait_queue& q, std::uint32_t revents, bool all) noexcept {
  std::size_t woken = 0;
  while (waiter* w = q.front()) {
    q.erase(*w);
    --waiters_;  // counts every node leaving the queue, claimed or already timed out
    static_cast<fd_wait&>(*w).revents = revents;
    if (w->ctx->try_wake(wake_reason::notified)) {
      ++woken;
      if (!all) break;
    }
  }
  return woken;
}

void reactor::interrupt() noexcept {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the poll will wake anyway.
  [[maybe_unused]] const ssize_t w = ::write(wake_fd_, &one, sizeof one);
}

void reactor::drain_interrupts() noexcept {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &count, sizeof count);
}

void reactor::drain_wakeups() noexcept {
  char bytes[512];
  for (;;) {
    const ssize_t n = ::read(wakeup_read_fd_, bytes, sizeof bytes);
    if (n <= 0) return;  // empty (EAGAIN), or EINTR: the level-triggered fd wakes us again
    if (wakeup_forward_fd_ < 0) continue;
    // Passed on as the signal handler wrote them (a chained wakeup fd's owner reads signal
    // numbers). Never blocks: a socket gets MSG_DONTWAIT, anything else is non-blocking as
    // CPython's set_wakeup_fd demands; what does not fit is dropped, as CPython drops it.
    if (::send(wakeup_forward_fd_, bytes, static_cast<std::size_t>(n),
               MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
        errno == ENOTSOCK) {
      [[maybe_unused]] const ssize_t w =
          ::write(wakeup_forward_fd_, bytes, static_cast<std::size_t>(n));
    }
  }
}

}  // namespace balrog::detail
