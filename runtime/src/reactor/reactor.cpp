#include "reactor/reactor.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <string>

#include "balrog/errors.hpp"

namespace balrog::detail {

namespace {

constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP;
constexpr std::uint32_t read_ready = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI;
constexpr std::uint32_t write_ready = EPOLLOUT | EPOLLHUP | EPOLLERR;

std::string fd_call(const char* call, int fd) {
  return std::string(call) + "(fd " + std::to_string(fd) + ")";
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
  // Round up: waking early would spin until the timer is due.
  const auto ms = ceil<milliseconds>(timeout).count();
  return ::epoll_wait(epfd, events, max, ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms));
}

}  // namespace

reactor::reactor() : events_(256) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("balrog: epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int err = errno;
    ::close(epoll_fd_);
    throw_errno(err, "balrog: eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: drained on every wake-up
  ev.data.fd = wake_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    const int err = errno;
    ::close(wake_fd_);
    ::close(epoll_fd_);
    throw_errno(err, "balrog: epoll_ctl(eventfd)");
  }
}

reactor::~reactor() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void reactor::close_after_fork() noexcept {
  ::close(wake_fd_);
  ::close(epoll_fd_);
  wake_fd_ = epoll_fd_ = -1;
}

reactor::fd_entry& reactor::entry(int fd) {
  const auto i = static_cast<std::size_t>(fd);
  if (i >= fds_.size()) {
    // Growing the table for a bogus fd number would cost memory for nothing: check it first.
    if (::fcntl(fd, F_GETFD) < 0) throw_errno(fd_call("balrog: wait", fd));
    fds_.resize(std::max<std::size_t>(64, std::bit_ceil(i + 1)));
  }
  return fds_[i];
}

bool reactor::arm(int fd, fd_entry& e) {
  std::uint32_t want = 0;
  if (!e.readers.empty()) want |= read_events;
  if (!e.writers.empty()) want |= EPOLLOUT;
  // No "already armed" shortcut: `armed` goes stale when the fd is closed behind our back
  // (close(2) silently drops the epoll registration), and a new fd reusing the number would
  // then never be armed. One epoll_ctl per wait, as the header says.
  epoll_event ev{};
  ev.events = want | e.armed | EPOLLONESHOT;
  ev.data.fd = fd;
  int op = e.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::epoll_ctl(epoll_fd_, op, fd, &ev) == 0) {
      e.registered = true;
      e.armed = ev.events & ~static_cast<std::uint32_t>(EPOLLONESHOT);
      return true;
    }
    if (errno == ENOENT && op == EPOLL_CTL_MOD) {
      op = EPOLL_CTL_ADD;  // the fd was closed (and maybe reused) since we registered it
    } else if (errno == EEXIST && op == EPOLL_CTL_ADD) {
      op = EPOLL_CTL_MOD;  // registered through a dup'ed twin we did not know about
    } else {
      break;
    }
  }
  if (errno == EPERM) return false;  // regular file, directory: always ready
  throw_errno(fd_call("balrog: epoll_ctl", fd));
}

reactor::registration reactor::add(fd_wait& w) {
  if (w.fd < 0)
    throw io_error(std::make_error_code(std::errc::bad_file_descriptor),
                   fd_call("balrog: wait", w.fd));
  fd_entry& e = entry(w.fd);
  wait_queue& q = w.for_write ? e.writers : e.readers;
  q.push_back(w.node);
  try {
    if (!arm(w.fd, e)) {
      q.erase(w.node);
      return registration::always_ready;
    }
  } catch (...) {
    q.erase(w.node);
    throw;
  }
  ++waiters_;
  return registration::waiting;
}

void reactor::remove(fd_wait& w) noexcept {
  if (!w.node.linked) return;
  fd_entry& e = fds_[static_cast<std::size_t>(w.fd)];
  (w.for_write ? e.writers : e.readers).erase(w.node);
  --waiters_;
}

std::size_t reactor::poll(clock::duration timeout) {
  const int n = wait_events(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throw_errno("balrog: epoll_wait");
  }
  std::size_t woken = 0;
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events_[static_cast<std::size_t>(i)];
    const int fd = ev.data.fd;
    if (fd == wake_fd_) {
      drain_interrupts();
      continue;
    }
    fd_entry& e = fds_[static_cast<std::size_t>(fd)];
    e.armed = 0;  // oneshot: delivered, so disarmed
    if ((ev.events & read_ready) != 0) woken += wake(e.readers, false);
    if ((ev.events & write_ready) != 0) woken += wake(e.writers, false);
    if (!e.readers.empty() || !e.writers.empty()) {
      bool watchable = false;
      try {
        watchable = arm(fd, e);
      } catch (const io_error&) {
        // The fd went bad under its waiters; their next syscall reports why.
      }
      if (!watchable) woken += wake(e.readers, true) + wake(e.writers, true);
    }
  }
  if (static_cast<std::size_t>(n) == events_.size()) events_.resize(events_.size() * 2);
  return woken;
}

std::size_t reactor::wake(wait_queue& q, bool all) noexcept {
  std::size_t woken = 0;
  while (waiter* w = q.front()) {
    q.erase(*w);
    --waiters_;  // counts every node leaving the queue, claimed or already timed out
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

}  // namespace balrog::detail
