#include "balrog/net/detail/owned_socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

namespace balrog::net::detail {

owned_socket& owned_socket::operator=(owned_socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_.store(other.release(), std::memory_order_release);
  }
  return *this;
}

int owned_socket::take_and_wake(bool& threads) noexcept {
  threads = false;
  std::lock_guard lk(lock_);
  // Closed first, then woken: a waiter that runs at once (on another thread) must see -1.
  const int fd = fd_.exchange(-1, std::memory_order_acq_rel);
  while (balrog::detail::waiter* front = waiters_.front()) {
    auto& w = static_cast<socket_waiter&>(*front);  // add_waiter queues nothing else
    waiters_.erase(w);
    if (w.polls) {
      threads = true;  // blocked in poll(2), not parked: try_wake cannot reach it
    } else {
      // A fiber or a coroutine (a task reports is_fiber() == false, yet is parked).
      w.ctx->try_wake(balrog::detail::wake_reason::notified);
    }
  }
  return fd;
}

void owned_socket::close() noexcept {
  bool threads = false;
  const int fd = take_and_wake(threads);
  if (fd < 0) return;
  // poll(2) does not return when another thread closes the fd; a shutdown makes it readable
  // and writable (hung up), and the woken thread then finds the socket closed.
  if (threads) ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

int owned_socket::release() noexcept {
  bool threads = false;
  return take_and_wake(threads);
}

bool owned_socket::add_waiter(socket_waiter& w, int fd) noexcept {
  std::lock_guard lk(lock_);
  if (fd_.load(std::memory_order_relaxed) != fd) return false;
  waiters_.push_back(w);
  return true;
}

void owned_socket::remove_waiter(socket_waiter& w) noexcept {
  std::lock_guard lk(lock_);
  if (w.linked) waiters_.erase(w);
}

}  // namespace balrog::net::detail
