// balrog/detail/fd_wait.hpp — one context's wait for one fd, as the reactor queues it.
#pragma once

#include "balrog/detail/wait_queue.hpp"

namespace balrog::detail {

struct fd_wait {
  fd_wait(execution_context& ctx, int fd_, bool for_write_) noexcept
      : node(ctx), fd(fd_), for_write(for_write_) {}
  waiter node;
  int fd;
  bool for_write;
};

}  // namespace balrog::detail
