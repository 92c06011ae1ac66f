// balrog/compat/this_thread.hpp: the non-template halves of the std::this_thread twins.
#include "balrog/compat/this_thread.hpp"

#include <cerrno>

#include "compat/wait_for_fd.hpp"

namespace balrog::compat {

bool detail::in_sync_mode() noexcept { return current_place() == place::thread; }

int detail::fiber_sleep_until(deadline until) noexcept {
  const int saved = errno;
  const int err = sleep_until(until);
  if (err == 0) errno = saved;
  return err;
}

void this_thread::yield() noexcept { detail::yield_now(); }

}  // namespace balrog::compat
