// What the ready queue holds: a fiber (switched to) or a coroutine task (resumed by the loop).
//
// A runnable is also the node that carries it through its scheduler's remote queue
// (core/shard/remote_queue.hpp) when another thread wakes it, or spawns it there (spawn_on).
#pragma once

#include "core/shard/remote_queue.hpp"

namespace balrog::detail {

struct runnable : remote_node {
  enum class kind : unsigned char { fiber, task };
  explicit runnable(kind k) noexcept : what(k) {}
  runnable* ready_next = nullptr;  // the ready queue (the remote queue links remote_next)
  const kind what;
};

}  // namespace balrog::detail
