// Every live scheduler of the process, for dump_fibers, the watchdog and the gdb command.
//
// The list is intrusive (watched_shard::registry_next, a base of core's scheduler) and its head is
// a plain global, so gdb can walk it in a core file: see tools/gdb/balrog_gdb.py.
#pragma once

#include <mutex>

namespace balrog::detail {

class watched_shard;

// Head of the list; read by gdb. Guarded by registry_mutex().
extern watched_shard* registry_head;
std::mutex& registry_mutex() noexcept;

// On the shard's own thread (its scheduler's constructor; unregister also after a fork).
void register_scheduler(watched_shard& s) noexcept;
void unregister_scheduler(watched_shard& s) noexcept;
// In a forked child, with the registry lock held (the watchdog's fork handlers): the entries of
// the parent's other threads, which do not exist here, leave the list; the forking thread's own
// entries stay, with the child's thread id. No entry stays pinned by the parent's monitor.
void registry_after_fork_in_child() noexcept;
// The shard registered on this thread, or null. Async-signal-safe.
watched_shard* this_thread_shard() noexcept;

}  // namespace balrog::detail
