#include "debug/registry.hpp"

#include <unistd.h>

#include <thread>

#include "debug/watchdog.hpp"

namespace balrog::detail {

watched_shard* registry_head = nullptr;

namespace {

constinit thread_local watched_shard* this_thread = nullptr;

}  // namespace

watched_shard* this_thread_shard() noexcept { return this_thread; }

std::mutex& registry_mutex() noexcept {
  static std::mutex m;
  return m;
}

void register_scheduler(watched_shard& s) noexcept {
  this_thread = &s;
  s.watch.tid.store(static_cast<int>(::gettid()), std::memory_order_relaxed);  // its own thread
  {
    std::lock_guard lk(registry_mutex());
    s.registry_next = registry_head;
    registry_head = &s;
  }
  watchdog::instance().scheduler_started();
}

void unregister_scheduler(watched_shard& s) noexcept {
  if (this_thread == &s) this_thread = nullptr;
  {
    std::lock_guard lk(registry_mutex());
    for (watched_shard** p = &registry_head; *p != nullptr; p = &(*p)->registry_next) {
      if (*p == &s) {
        *p = s.registry_next;
        break;
      }
    }
    s.registry_next = nullptr;
  }
  // The watchdog may still be reading a capture of ours (it pinned us under the lock): wait.
  while (s.watch.pins.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

}  // namespace balrog::detail
