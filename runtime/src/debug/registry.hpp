// Every live scheduler of the process, for dump_fibers, the watchdog and the gdb command.
//
// The list is intrusive (scheduler::registry_next) and its head is a plain global, so gdb can
// walk it in a core file: see tools/gdb/balrog_gdb.py.
#pragma once

#include <mutex>

namespace balrog::detail {

class scheduler;

// Head of the list; read by gdb. Guarded by registry_mutex().
extern scheduler* registry_head;
std::mutex& registry_mutex() noexcept;

void register_scheduler(scheduler& s) noexcept;
void unregister_scheduler(scheduler& s) noexcept;

}  // namespace balrog::detail
