// balrog/debug.hpp — seeing what every fiber is doing, and catching shards that stall.
//
// dump_fibers(std::cerr) prints every fiber and coroutine task of every shard in the process:
// id, name, shard, state, what it waits on and for how long, and a symbolized backtrace of
// each suspended fiber (coroutine tasks show the coroutine they are suspended in). It is safe
// to call from any fiber or thread: each shard describes its own fibers on its own thread. A
// shard that does not answer within half a second is reported as busy (a fiber is probably
// blocking it; the watchdog names it).
//
// The watchdog: a monitor thread notices any fiber or task that has held its shard's thread
// for longer than a threshold (default 100 ms) — one that computes for long without yielding,
// or that calls a truly blocking function. It times each context, not each loop turn, so many
// short fibers in one turn are no stall. It reports once per stall, on stderr (one line) and
// to an optional hook (with the backtrace), naming the fiber and where it is. To learn where,
// it sends the stalled thread one signal (SIGRTMIN+6) whose handler records a frame-pointer
// backtrace. It never signals a thread that is blocked in a system call (it reads
// /proc/self/task/<tid>/syscall first), so code balrog does not own — a select() or sem_wait()
// with no EINTR loop — behaves exactly as without the watchdog; such a stall is reported as
// "blocked in system call N". (A thread that enters a system call between that check and the
// signal, microseconds after stalling for the threshold, can still see EINTR; SA_RESTART
// restarts most calls.) Turn capture_stack off to never signal at all. Backtraces need frame
// pointers: balrog builds with them and asks the same of the code that links it
// (-fno-omit-frame-pointer is part of balrog::runtime's usage requirements).
//
// A gdb command, balrog-fibers, lists the same in a live process or a core file: see
// docs/debugging.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "balrog/fiber.hpp"

namespace balrog {

enum class fiber_state { running, ready, waiting };

struct fiber_snapshot {
  fiber_id id;
  std::string name;
  std::size_t shard = 0;
  bool is_task = false;  // a coroutine task (spawn_task) rather than a fiber
  fiber_state state = fiber_state::ready;
  std::string waiting_on;  // "sleep", "mutex", "fd-read", "join", ...; empty unless waiting
  std::chrono::milliseconds waiting_for{0};
  std::vector<std::string> backtrace;  // innermost frame first; empty for running fibers
};

// Every fiber and task of every shard in the process, shard by shard.
[[nodiscard]] std::vector<fiber_snapshot> list_fibers();
// list_fibers(), formatted for people.
void dump_fibers(std::ostream& out);

struct watchdog_report {
  std::size_t shard = 0;
  // The fiber or coroutine task that held the thread. fiber_id{} when the loop itself did, or
  // when the culprit is not known; `name` is then empty (the loop) or says why it is not known.
  fiber_id id;
  std::string name;  // the fiber's or task's name
  std::chrono::milliseconds stalled_for{0};
  std::vector<std::string> backtrace;  // where it was when the watchdog looked
};

struct watchdog_options {
  // A loop turn longer than this is reported. Zero turns the watchdog off.
  std::chrono::milliseconds threshold{100};
  // Write each report to stderr.
  bool print = true;
  // Called on the watchdog's thread for each report (keep it quick; do not wait on fibers, nor
  // on a thread that may be calling fork(): a fork waits for a running hook to return).
  std::function<void(const watchdog_report&)> hook{};
  // Signal the stalled thread to learn where it is (see above). false: name the fiber only.
  bool capture_stack = true;
};

// Replaces the process-wide watchdog settings; applies to running shards at once.
void set_watchdog(watchdog_options options);

}  // namespace balrog
