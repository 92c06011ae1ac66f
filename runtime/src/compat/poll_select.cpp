// poll and select of balrog/compat/posix_net.hpp. On a fiber both follow one loop: a
// zero-timeout call; if nothing is ready, wait on the reactor for every fd of interest, then
// a zero-timeout call again, until something is ready or the timeout passed. Results and
// errors are always those of the zero-timeout libc call.
#include <fcntl.h>
#include <sys/select.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <span>
#include <vector>

#include "balrog/compat/posix_net.hpp"
#include "compat/fd_facts.hpp"
#include "compat/timespec_math.hpp"
#include "compat/wait_for_fd.hpp"

namespace balrog::compat {

namespace {

bool sync_mode() noexcept { return detail::current_place() == detail::place::thread; }

// After a zero-timeout `check()` found nothing: waits for `interests` until `until`, checking
// again after each wake-up. Returns check()'s result, or -1 (errno) when the wait failed.
template <class Check>
int wait_until_ready(std::span<const pollfd> interests, deadline until, Check check) {
  for (;;) {
    const detail::wait_status s = detail::wait_any(interests, until);
    if (s == detail::wait_status::failed) return -1;
    const int n = check();
    if (n != 0 || s == detail::wait_status::timed_out) return n;
  }
}

// The first `nfds` bits of an fd_set (which may be larger than FD_SETSIZE, as the kernel
// allows), saved so that each zero-timeout select can start from the caller's input again.
class saved_set {
 public:
  saved_set(const fd_set* set, int nfds)
      : set_(set), words_(set != nullptr && nfds > 0 ? (nfds + NFDBITS - 1) / NFDBITS : 0) {
    if (words_ > 0) bits_.assign(words(set), words(set) + words_);
  }
  void restore(fd_set* set) const noexcept {
    if (words_ > 0) std::memcpy(set, bits_.data(), words_ * sizeof(fd_mask));
  }
  [[nodiscard]] bool has(int fd) const noexcept {
    return set_ != nullptr && (bits_[static_cast<std::size_t>(fd) / NFDBITS] &
                               (fd_mask{1} << (static_cast<std::size_t>(fd) % NFDBITS))) != 0;
  }

 private:
  static const fd_mask* words(const fd_set* set) noexcept {
    return reinterpret_cast<const fd_mask*>(set);
  }
  const fd_set* set_;
  std::size_t words_;
  std::vector<fd_mask> bits_;
};

int select_on_fiber(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                    const timespec* limit) {
  const saved_set in_read(readfds, nfds);
  const saved_set in_write(writefds, nfds);
  const saved_set in_except(exceptfds, nfds);
  const auto check = [&] {
    in_read.restore(readfds);
    in_write.restore(writefds);
    in_except.restore(exceptfds);
    timeval zero{0, 0};
    return ::select(nfds, readfds, writefds, exceptfds, &zero);
  };
  const int n = check();
  if (n != 0 || (limit != nullptr && limit->tv_sec == 0 && limit->tv_nsec == 0)) return n;
  std::vector<pollfd> interests;
  for (int fd = 0; fd < nfds; ++fd) {
    const short events =
        static_cast<short>((in_read.has(fd) ? POLLIN : 0) | (in_write.has(fd) ? POLLOUT : 0) |
                           (in_except.has(fd) ? POLLPRI : 0));
    // The select above succeeded, so a closed fd here lies beyond the fd table, where the
    // kernel ignores it: ignore it too (watching it would report it "ready" forever).
    if (events != 0 && ::fcntl(fd, F_GETFD) >= 0) interests.push_back(pollfd{fd, events, 0});
  }
  const deadline until =
      limit == nullptr ? deadline::never() : detail::deadline_after(limit->tv_sec, limit->tv_nsec);
  return wait_until_ready(interests, until, check);
}

}  // namespace

int poll(pollfd* fds, nfds_t nfds, int timeout) {
  if (sync_mode()) return ::poll(fds, nfds, timeout);
  const detail::errno_on_success keep;
  const int n = ::poll(fds, nfds, 0);
  if (n != 0 || timeout == 0) return keep(n);
  const deadline until =
      timeout < 0 ? deadline::never() : deadline(std::chrono::milliseconds(timeout));
  return keep(wait_until_ready(std::span<const pollfd>(fds, nfds), until,
                               [&] { return ::poll(fds, nfds, 0); }));
}

int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) {
  if (sync_mode()) return ::select(nfds, readfds, writefds, exceptfds, timeout);
  // glibc's checks and normalization of the timeout, before any system call.
  timespec limit{};
  if (timeout != nullptr) {
    if (timeout->tv_sec < 0 || timeout->tv_usec < 0) return static_cast<int>(detail::fail(EINVAL));
    constexpr long mega = 1'000'000;
    const time_t extra = timeout->tv_usec / mega;
    if (extra > std::numeric_limits<time_t>::max() - timeout->tv_sec) {
      limit = {std::numeric_limits<time_t>::max(), 999'999'999};
    } else {
      limit = {timeout->tv_sec + extra, (timeout->tv_usec % mega) * 1000};
    }
  }
  const detail::errno_on_success keep;
  const auto start = clock::now();
  int n = -1;
  try {
    n = select_on_fiber(nfds, readfds, writefds, exceptfds, timeout != nullptr ? &limit : nullptr);
  } catch (const std::bad_alloc&) {
    n = static_cast<int>(detail::fail(ENOMEM));
  }
  // Like Linux, tell the caller how much of the timeout is left.
  if (timeout != nullptr) {
    const timespec left = detail::time_left(limit, clock::now() - start);
    timeout->tv_sec = left.tv_sec;
    timeout->tv_usec = left.tv_nsec / 1000;
  }
  return keep(n);
}

}  // namespace balrog::compat
