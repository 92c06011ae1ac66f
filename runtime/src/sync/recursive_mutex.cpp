#include "balrog/sync/recursive_mutex.hpp"

#include <cstdio>
#include <cstdlib>

namespace balrog {

void recursive_mutex::unlock() {
  if (owner_.load(std::memory_order_relaxed) != &detail::current_context()) {
    std::fputs("balrog::recursive_mutex::unlock: the caller does not hold the mutex\n", stderr);
    std::abort();
  }
  if (--depth_ > 0) return;
  owner_.store(nullptr, std::memory_order_relaxed);
  inner_.unlock();
}

}  // namespace balrog
