// sleep, usleep and nanosleep of balrog/compat/posix_time.hpp: in sync mode libc's; on a fiber
// one sleep on the shard's timers (nanosleep's contract; glibc builds usleep and sleep on it).
#include "balrog/compat/posix_time.hpp"

#include <cerrno>

#include "compat/fd_facts.hpp"
#include "compat/timespec_math.hpp"
#include "compat/wait_for_fd.hpp"

namespace balrog::compat {

namespace {

bool sync_mode() noexcept { return detail::current_place() == detail::place::thread; }

// nanosleep on a fiber, for a valid `req`: 0, or -1 with errno and the time left in *rem.
int sleep_request(const timespec& req, timespec* rem) noexcept {
  const auto start = clock::now();
  const int err = detail::sleep_until(detail::deadline_after(req.tv_sec, req.tv_nsec));
  if (err == 0) return 0;
  if (rem != nullptr) *rem = err == EDEADLK ? req : detail::time_left(req, clock::now() - start);
  errno = err;
  return -1;
}

}  // namespace

int nanosleep(const struct timespec* req, struct timespec* rem) {
  if (sync_mode()) return ::nanosleep(req, rem);
  if (req == nullptr) return static_cast<int>(detail::fail(EFAULT));
  if (req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= 1'000'000'000) {
    return static_cast<int>(detail::fail(EINVAL));
  }
  const detail::errno_on_success keep;
  return keep(sleep_request(*req, rem));
}

int usleep(useconds_t usec) {
  if (sync_mode()) return ::usleep(usec);
  const timespec req{static_cast<time_t>(usec / 1'000'000),
                     static_cast<long>(usec % 1'000'000) * 1000};
  const detail::errno_on_success keep;
  return keep(sleep_request(req, nullptr));
}

unsigned int sleep(unsigned int seconds) {
  if (sync_mode()) return ::sleep(seconds);
  const detail::errno_on_success keep;
  timespec left{static_cast<time_t>(seconds), 0};
  // glibc: the unslept whole seconds of nanosleep's *rem, rounded down.
  if (sleep_request(left, &left) < 0) return static_cast<unsigned int>(left.tv_sec);
  return static_cast<unsigned int>(keep(0));
}

}  // namespace balrog::compat
