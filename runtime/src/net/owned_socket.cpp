#include "balrog/net/detail/owned_socket.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

#include "reactor/fd_waits.hpp"

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
  bool threads = false;
  io_registration reg;
  fd_.store(other.take_and_wake(threads, reg), std::memory_order_release);
  other.wait_for_uses();
  reg_ = reg;
}

owned_socket& owned_socket::operator=(owned_socket&& other) noexcept {
  if (this != &other) {
    close();
    bool threads = false;
    io_registration reg;
    const int fd = other.take_and_wake(threads, reg);
    other.wait_for_uses();
    std::lock_guard lk(lock_);
    fd_.store(fd, std::memory_order_release);
    reg_ = reg;
  }
  return *this;
}

int owned_socket::take_and_wake(bool& threads, io_registration& reg) noexcept {
  threads = false;
  std::lock_guard lk(lock_);
  // Closed first, then woken: a waiter that runs at once (on another thread) must see -1.
  const int fd = fd_.exchange(-1, std::memory_order_seq_cst);  // pairs with use (header)
  reg = reg_;
  reg_ = {};
  while (balrog::detail::waiter* front = waiters_.front()) {
    auto& w = static_cast<balrog::detail::owner_waiter&>(*front);  // add_waiter queues nothing else
    waiters_.erase(w);
    if (w.polls) {
      threads = true;  // blocked in poll(2), not parked: try_wake cannot reach it
    } else {
      // A fiber or a coroutine (a task reports is_fiber() == false, yet is parked). It
      // published itself after prepare_wait, so this claim cannot come too early.
      w.ctx->try_wake(balrog::detail::wake_reason::notified);
    }
  }
  return fd;
}

void owned_socket::close() noexcept {
  bool threads = false;
  io_registration reg;
  const int fd = take_and_wake(threads, reg);
  if (fd < 0) return;
  wait_for_uses();
  // poll(2) does not return when another thread closes the fd; a shutdown makes it readable
  // and writable (hung up), and the woken thread then finds the socket closed.
  if (threads) ::shutdown(fd, SHUT_RDWR);
  end_registration(reg, /*still_open=*/false);
  ::close(fd);
}

int owned_socket::release() noexcept {
  bool threads = false;
  io_registration reg;
  const int fd = take_and_wake(threads, reg);
  if (fd >= 0) wait_for_uses();
  end_registration(reg, /*still_open=*/true);
  return fd;
}

void owned_socket::wait_for_uses() const noexcept {
  // A use is one non-blocking syscall (it never waits for readiness): not worth parking for.
  while (users_.load(std::memory_order_seq_cst) != 0) ::sched_yield();
}

bool owned_socket::add_waiter(balrog::detail::owner_waiter& w, int fd) noexcept {
  std::lock_guard lk(lock_);
  if (fd_.load(std::memory_order_relaxed) != fd) return false;
  waiters_.push_back(w);
  return true;
}

void owned_socket::remove_waiter(balrog::detail::owner_waiter& w) noexcept {
  std::lock_guard lk(lock_);
  if (w.linked) waiters_.erase(w);
}

bool owned_socket::queue(balrog::detail::reactor& r, balrog::detail::fd_wait& w) {
  std::lock_guard lk(lock_);
  // Closed (taken) since add_waiter: the closer may be closing the number right now, and the
  // number may already name another file. Under lock_, so an arm either precedes take_and_wake
  // or sees its -1 (TSan: epoll_ctl racing close(2) in NetCloseRace once nothing else ordered
  // them).
  if (fd_.load(std::memory_order_relaxed) != w.fd) {
    w.revents = balrog::detail::fd_closed_event;
    return false;
  }
  return r.add(w, reg_, balrog::detail::io_mode::edge) == balrog::detail::reactor::queued::waiting;
}

io_registration owned_socket::registration() const noexcept {
  std::lock_guard lk(lock_);
  return reg_;
}

}  // namespace balrog::net::detail
