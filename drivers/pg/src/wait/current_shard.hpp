// Which shard the caller runs on, for objects that belong to one (connection, pool).
#pragma once

#include <atomic>
#include <cstdint>

namespace balrog::pg::detail {

// A shard is a thread: a connection's state is touched without locks, so it must stay on the
// thread that opened it. That thread may run fibers (a runtime's shard, balrog::run) or be a
// plain thread whose blocking-style calls each run a private scheduler (sync mode); either
// way the thread is the owner. A number, not the thread's id: ids are reused.
inline std::uint64_t current_shard() noexcept {
  static std::atomic<std::uint64_t> last{0};
  thread_local const std::uint64_t mine = last.fetch_add(1, std::memory_order_relaxed) + 1;
  return mine;
}

}  // namespace balrog::pg::detail
