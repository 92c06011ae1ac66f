// balrog/io.hpp — waiting for a file descriptor to become ready.
//
// On a fiber these suspend the fiber until the shard's reactor reports the fd ready; on a
// plain thread they block in poll(2). They return when the fd is readable (or writable), has
// an error, or was hung up: the caller's next read or write tells which. In rare cases they
// return without the fd being ready (the fd was dup'ed and its twin closed): callers loop, as
// they must around any non-blocking call.
//
// A deadline already past means "look, do not wait", as poll(fd, 0) does: a ready fd returns,
// an idle one throws timeout_error — on a fiber, in sync mode and in coroutine code alike.
//
// Throws timeout_error when `until` (or an enclosing deadline_scope) passes, cancelled when the
// fiber is cancelled, io_error for an invalid fd (EBADF) or a negative fd, and io_error (EBADF,
// "the fd was closed") when this thread closes the fd (or replaces it with dup2) through the
// compat layer while the wait is on, or the number turns out to mean another file: the wait
// never reports the readiness of a file that merely reused the number. Files that epoll cannot
// watch (regular files, directories) are always ready: the functions return at once.
//
// Coroutine code awaits the same readiness with co_await balrog::readable(fd, until) /
// writable(fd, until): same meaning, same exceptions, resumed by the shard's reactor.
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>

#include "balrog/deadline.hpp"
#include "balrog/detail/fd_wait.hpp"

namespace balrog {

void wait_readable(int fd, deadline until = deadline::never());
void wait_writable(int fd, deadline until = deadline::never());

class fd_awaiter {
 public:
  using balrog_resumes_home = void;  // the wait protocol: resumed on its own context
  fd_awaiter(int fd, bool for_write, deadline until, detail::fd_owner* owner = nullptr) noexcept
      : fd_(fd), for_write_(for_write), until_(until), owner_(owner) {}
  // Movable only before it is awaited (balrog::await(readable(fd)) moves it into its driver
  // under GCC 12); a queued wait is never moved: its node is linked into the reactor.
  fd_awaiter(fd_awaiter&& other) noexcept
      : fd_(other.fd_), for_write_(other.for_write_), until_(other.until_), owner_(other.owner_) {}
  fd_awaiter(const fd_awaiter&) = delete;
  fd_awaiter& operator=(const fd_awaiter&) = delete;
  fd_awaiter& operator=(fd_awaiter&&) = delete;
  // A suspended coroutine chain destroyed without being resumed leaves the reactor's queue.
  ~fd_awaiter();
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);  // false: no need to wait (ready, past deadline)
  void await_resume();

 private:
  int fd_;
  bool for_write_;
  deadline until_;
  detail::fd_owner* owner_;
  std::optional<detail::fd_wait_state> wait_;                // engaged while suspended
  detail::wake_reason why_ = detail::wake_reason::notified;  // when it did not suspend
  std::uint32_t revents_ = 0;
};

[[nodiscard]] inline fd_awaiter readable(int fd, deadline until = deadline::never()) noexcept {
  return fd_awaiter(fd, false, until);
}
[[nodiscard]] inline fd_awaiter writable(int fd, deadline until = deadline::never()) noexcept {
  return fd_awaiter(fd, true, until);
}

}  // namespace balrog
