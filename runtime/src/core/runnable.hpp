// What the ready queue holds: a fiber (switched to) or a coroutine task (resumed by the loop).
#pragma once

namespace balrog::detail {

struct runnable {
  enum class kind : unsigned char { fiber, task };
  explicit runnable(kind k) noexcept : what(k) {}
  runnable* ready_next = nullptr;  // ready queue or remote queue (never both)
  const kind what;
};

}  // namespace balrog::detail
