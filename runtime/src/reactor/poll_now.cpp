#include "reactor/poll_now.hpp"

#include <poll.h>

#include <cerrno>

namespace balrog::detail {

namespace {

thread_local std::uint64_t poll_now_count = 0;

}  // namespace

short poll_now(int fd, short events) noexcept {
  ++poll_now_count;
  pollfd p{fd, events, 0};
  int n = 0;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return POLLERR;
  return n > 0 ? p.revents : short{0};
}

std::uint64_t poll_now_calls() noexcept { return poll_now_count; }

}  // namespace balrog::detail
