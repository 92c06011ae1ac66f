#include "debug/registry.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cstdint>
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

void registry_after_fork_in_child() noexcept {
  const pthread_t self = ::pthread_self();  // the forking thread's, also in the child
  const int tid = static_cast<int>(::gettid());
  watched_shard** p = &registry_head;
  while (*p != nullptr) {
    watched_shard* s = *p;
    watch_state& w = s->watch;
    // The parent's monitor may have pinned it, or asked it for a capture, just before the fork:
    // that monitor does not exist here (unregister_scheduler would wait for it forever).
    w.pins.store(0, std::memory_order_relaxed);
    w.capture_state.store(0, std::memory_order_relaxed);
    w.seen_switches = 0;
    w.seen_since_ns = 0;  // the child's monitor has not looked yet
    w.reported_switch = ~std::uint64_t{0};
    w.blocked_switch = ~std::uint64_t{0};
    if (::pthread_equal(s->thread, self) != 0) {
      w.tid.store(tid, std::memory_order_relaxed);
      p = &s->registry_next;
    } else {
      *p = s->registry_next;  // its thread is the parent's
      s->registry_next = nullptr;
    }
  }
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
