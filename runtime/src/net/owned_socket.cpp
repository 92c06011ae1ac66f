#include "balrog/net/detail/owned_socket.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

#include "io/fd_waits.hpp"

namespace balrog::net::detail {

using balrog::detail::io_registration;

namespace {

// Ends `reg` if it was made on this thread's reactor (another thread's cannot be reached: that
// entry goes stale, and its next arm finds out).
void end_registration(io_registration& reg, bool still_open) noexcept {
  if (reg.reactor == 0) return;
  if (balrog::detail::reactor* r = balrog::detail::current_reactor())
    r->deregister(reg, still_open);
}

}  // namespace

owned_socket::owned_socket(owned_socket&& other) noexcept {
  io_registration reg;
  fd_.store(other.take_and_wake(reg), std::memory_order_release);
  other.wait_for_uses();
  set_registration(reg);
}

owned_socket& owned_socket::operator=(owned_socket&& other) noexcept {
  if (this != &other) {
    close();
    io_registration reg;
    const int fd = other.take_and_wake(reg);
    other.wait_for_uses();
    std::lock_guard lk(lock_);
    fd_.store(fd, std::memory_order_release);
    set_registration(reg);
  }
  return *this;
}

int owned_socket::take_and_wake(io_registration& reg) noexcept {
  std::lock_guard lk(lock_);
  // Closed first, then woken: a waiter that runs at once (on another thread) must see -1.
  const int fd = fd_.exchange(-1, std::memory_order_seq_cst);  // pairs with use (header)
  reg = reg_;
  set_registration({});
  while (balrog::detail::waiter* front = waiters_.front()) {
    auto& w = static_cast<balrog::detail::owner_waiter&>(*front);  // add_waiter queues nothing else
    waiters_.erase(w);
    // A plain thread blocked in poll(2) is not parked: try_wake cannot reach it (pollers_).
    if (!w.polls) {
      // A fiber or a coroutine (a task reports is_fiber() == false, yet is parked). It
      // published itself after prepare_wait, so this claim cannot come too early.
      w.ctx->try_wake(balrog::detail::wake_reason::notified);
    }
  }
  return fd;
}

void owned_socket::close() noexcept {
  io_registration reg;
  const int fd = take_and_wake(reg);
  if (fd < 0) return;
  // poll(2) does not return when another thread closes the fd; a shutdown makes it readable
  // and writable (hung up), and the woken thread then finds the socket closed. Before the
  // number is freed: a thread between add_waiter and its poll(2) would otherwise poll a closed
  // number, or one a new socket already reuses, until its deadline.
  if (pollers_.load(std::memory_order_acquire) != 0) ::shutdown(fd, SHUT_RDWR);
  wait_for_uses();
  wait_for_pollers();
  end_registration(reg, /*still_open=*/false);
  ::close(fd);
}

int owned_socket::release() noexcept {
  io_registration reg;
  const int fd = take_and_wake(reg);
  if (fd >= 0) wait_for_uses();
  end_registration(reg, /*still_open=*/true);
  return fd;
}

void owned_socket::wait_for_uses() const noexcept {
  // A use is one non-blocking syscall (it never waits for readiness): not worth parking for.
  while (users_.load(std::memory_order_seq_cst) != 0) ::sched_yield();
}

void owned_socket::wait_for_pollers() const noexcept {
  // Each was woken by the shutdown (or finds the socket hung up as its poll starts).
  while (pollers_.load(std::memory_order_acquire) != 0) ::sched_yield();
}

bool owned_socket::add_waiter(balrog::detail::owner_waiter& w, int fd) noexcept {
  std::lock_guard lk(lock_);
  if (fd_.load(std::memory_order_relaxed) != fd) return false;
  waiters_.push_back(w);
  // Under lock_: a close() takes the fd after this (and then waits for it) or before (and
  // this returned false).
  if (w.polls) pollers_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void owned_socket::remove_waiter(balrog::detail::owner_waiter& w) noexcept {
  std::lock_guard lk(lock_);
  if (w.linked) waiters_.erase(w);
  if (w.polls) pollers_.fetch_sub(1, std::memory_order_release);  // done with the number
}

bool owned_socket::publish(balrog::detail::owner_waiter& w, balrog::detail::reactor& r,
                           balrog::detail::fd_wait& node, balrog::detail::fd_wait* writer) {
  std::lock_guard lk(lock_);
  // Closed (taken) since the caller read the fd: the closer may be closing the number right
  // now, and the number may already name another file. Under lock_, so an arm either precedes
  // take_and_wake or sees its -1 (TSan: epoll_ctl racing close(2) in NetCloseRace once nothing
  // else ordered them), and a wait that is queued is also listed before take_and_wake looks.
  if (fd_.load(std::memory_order_relaxed) != node.fd) {
    node.revents = balrog::detail::fd_closed_event;
    return false;
  }
  io_registration reg = reg_;
  balrog::detail::reactor::queued q{};
  try {
    q = writer == nullptr ? r.add(node, reg, balrog::detail::io_mode::edge)
                          : r.add(node, writer, reg, balrog::detail::io_mode::edge);
  } catch (...) {
    set_registration(reg);
    throw;
  }
  set_registration(reg);
  if (q != balrog::detail::reactor::queued::waiting) return false;
  waiters_.push_back(w);
  return true;
}

void owned_socket::set_registration(const io_registration& reg) noexcept {
  if (reg.reactor == reg_.reactor && reg.fd == reg_.fd && reg.generation == reg_.generation &&
      reg.always_ready == reg_.always_ready) {
    return;
  }
  reg_ = reg;
  const std::uint32_t seq = reg_seq_.load(std::memory_order_relaxed);
  reg_seq_.store(seq + 1, std::memory_order_relaxed);
  reg_reactor_.store(reg.reactor, std::memory_order_release);
  reg_fd_.store(reg.fd, std::memory_order_release);
  reg_generation_.store(reg.generation, std::memory_order_release);
  reg_always_ready_.store(reg.always_ready, std::memory_order_release);
  reg_seq_.store(seq + 2, std::memory_order_release);
}

io_registration owned_socket::registration_retry() const noexcept {
  for (unsigned spins = 0;; ++spins) {
    const std::uint32_t seq = reg_seq_.load(std::memory_order_acquire);
    if ((seq & 1) == 0) {
      const io_registration reg{reg_reactor_.load(std::memory_order_acquire),
                                reg_fd_.load(std::memory_order_acquire),
                                reg_generation_.load(std::memory_order_acquire),
                                reg_always_ready_.load(std::memory_order_acquire)};
      if (reg_seq_.load(std::memory_order_relaxed) == seq) return reg;
    }
    // A writer holds lock_ for a few stores; it may have been preempted.
    if (spins > 64) {
      ::sched_yield();
      spins = 0;
    } else {
      __builtin_ia32_pause();
    }
  }
}

}  // namespace balrog::net::detail
