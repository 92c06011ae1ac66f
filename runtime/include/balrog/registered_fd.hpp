// balrog/registered_fd.hpp — a socket registered once with the reactor, for drivers whose
// library makes the socket's system calls itself (libpq, libcurl, OpenSSL over a socket).
//
//   balrog::registered_fd sock(PQsocket(conn));   // once the library's socket is final
//   co_await sock.readable(deadline);             // coroutine code (a task, a chain)
//   sock.wait_readable(deadline);                 // a fiber, or a plain thread (poll(2))
//   sock.reset(PQsocket(conn));                   // the library replaced its socket
//
// Why: balrog::wait_readable(fd) arms the fd again for every wait (one epoll_ctl each), since
// it cannot know that the number still means the file it meant last time. An owner that knows
// — it resets or destroys its registered_fd before the fd is closed or replaced — saves that
// system call: the fd is registered with the reactor of the first thread whose fiber or task
// waits on it, and each later wait there costs none. The registration is level-triggered: a
// wait sees the readiness of now, whatever the library read or wrote behind balrog's back.
//
// Waits mean what balrog/io.hpp's mean: they return when the fd is readable (writable), has an
// error or was hung up; a deadline already past looks instead of waiting; they throw
// timeout_error (the call's own deadline: "...: deadline exceeded"; an enclosing
// deadline_scope: the plain one), cancelled, usage_error for a blocking wait in coroutine code,
// io_error for a bad fd or one closed under the wait. A wait on another thread than the
// registration's registers the fd there instead (a plain thread polls).
//
// Ownership: the object does not own the fd and never closes it. Reset or destroy it before
// the fd is closed, and reset it whenever the fd may have been replaced, even by a file under
// the same number (libpq's PQconnectPoll and PQreset open new sockets): a registration cannot
// see that its file changed. Closing the fd first is safe only in that balrog notices when the
// number is next armed (another file's waits are then never confused with this one's).
//
// Thread-safety: as for a plain fd — waits from several threads and coroutines at once are
// fine; reset() and the destructor must not race with waits.
#pragma once

#include <atomic>

#include "balrog/deadline.hpp"
#include "balrog/detail/fd_wait.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/io.hpp"

namespace balrog {

class registered_fd final : private detail::fd_owner {
 public:
  registered_fd() noexcept = default;
  // Takes note of `fd` (negative: none); registers it at the first wait on a fiber or a task.
  explicit registered_fd(int fd) noexcept : fd_(fd) {}
  registered_fd(registered_fd&& other) noexcept;
  registered_fd& operator=(registered_fd&& other) noexcept;
  registered_fd(const registered_fd&) = delete;
  registered_fd& operator=(const registered_fd&) = delete;
  ~registered_fd() { reset(); }

  // Ends the registration (the fd must still be open) and takes note of `fd` instead.
  void reset(int fd = -1) noexcept;
  [[nodiscard]] int fd() const noexcept { return fd_.load(std::memory_order_acquire); }

  // Blocking-style: suspend the fiber (block a plain thread) until ready. Throws io_error
  // (EBADF) when there is no fd.
  void wait_readable(deadline until = deadline::never());
  void wait_writable(deadline until = deadline::never());

  // co_await forms, with the same meaning.
  [[nodiscard]] fd_awaiter readable(deadline until = deadline::never()) noexcept {
    return fd_awaiter(fd(), false, until, this);
  }
  [[nodiscard]] fd_awaiter writable(deadline until = deadline::never()) noexcept {
    return fd_awaiter(fd(), true, until, this);
  }

 private:
  // detail::fd_owner: the fd-wait path waits through the registration.
  bool add_waiter(detail::owner_waiter& w, int fd) noexcept override;
  void remove_waiter(detail::owner_waiter& w) noexcept override;
  bool publish(detail::owner_waiter& w, detail::reactor& r, detail::fd_wait& node,
               detail::fd_wait* writer) override;
  void wait(bool for_write, deadline until, const char* call);

  std::atomic<int> fd_{-1};
  detail::spinlock lock_;
  detail::io_registration reg_{};  // under lock_
};

}  // namespace balrog
