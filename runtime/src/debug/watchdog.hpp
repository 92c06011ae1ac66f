// The watchdog (balrog/debug.hpp): a monitor thread that notices shards whose loop has not got
// control back for too long, and reports the fiber responsible.
//
// Each scheduler publishes, in its watch_state, when the current loop turn started (a relaxed
// store per turn) and a count of context changes (a relaxed store per switch; R in the runtime
// review: a turn spans up to dispatch_budget direct switches, so its start alone cannot say
// how long the running context has held the thread). The monitor polls every registered
// scheduler and times each context from the first look that saw its count: a lower bound, at
// most one poll late, never the sum of several contexts. On a stall it asks the stalled thread,
// with a signal, to record what runs and where (and the count then, so a context that moved on is
// not blamed), and reports once per stalled context.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "balrog/debug.hpp"
#include "debug/backtrace.hpp"

namespace balrog::detail {

// Per scheduler. The first two fields are written by the scheduler's thread; capture_* by its
// signal handler; seen_* and reported_switch by the monitor.
struct watch_state {
  std::atomic<std::int64_t> turn_started_ns{0};  // steady_clock ns; 0: the loop has control
  // Context changes on this thread: the loop dispatching a runnable, a direct switch, a fiber
  // ending. Only the owner writes it, so a plain load and store, no read-modify-write.
  std::atomic<std::uint64_t> switches{0};
  void count_switch() noexcept {
    switches.store(switches.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::uint64_t seen_switches = 0;  // the count at the monitor's last look
  std::int64_t seen_since_ns = 0;   // the first look that saw it (0: never looked)
  std::uint64_t reported_switch = ~std::uint64_t{0};
  // The stalled context's thread was in this system call (its /proc line: number, arguments,
  // stack and instruction pointers) at the last look: it is reported as blocked only if the
  // next look finds the same line, so a thread that waits a moment for a lock is not.
  static constexpr std::size_t syscall_line_bytes = 160;
  std::uint64_t blocked_switch = ~std::uint64_t{0};
  char blocked_line[syscall_line_bytes] = {};

  static constexpr std::size_t max_frames = 48;
  std::atomic<int> capture_state{0};  // 0 idle, 1 requested, 2 recorded
  std::uintptr_t capture_pcs[max_frames] = {};
  std::size_t capture_frames = 0;
  std::uint64_t capture_id = 0;        // 0: no fiber ran
  std::uint64_t capture_switches = 0;  // `switches` when the handler ran
  bool capture_is_task = false;
  char capture_name[64] = {};  // given name, or "" for the default one
  // > 0 while the watchdog reads this state with the registry lock released (it waits for a
  // capture); unregister_scheduler waits for 0 before the scheduler may go.
  std::atomic<int> pins{0};
  // The kernel's id of the shard's thread (set when it registers): the watchdog reads
  // /proc/self/task/<tid>/syscall to leave a thread blocked in a system call alone.
  std::atomic<int> tid{0};
};

// What the debug tools (the registry, the watchdog, gdb) see of a shard. debug/ sits below
// core/: core's scheduler derives from this and registers itself; debug/ never names the
// scheduler, and asks it what runs through running_now().
class watched_shard {
 public:
  // The registry's link (registry.hpp; gdb walks it), the shard's thread and its stack (for the
  // watchdog's signal and frame walks), the watchdog's state, and which shard of its runtime.
  watched_shard* registry_next = nullptr;
  pthread_t thread{};
  stack_bounds thread_stack;
  watch_state watch;
  std::size_t shard_index = 0;

  // What the shard's thread runs now, for the watchdog's signal handler on that thread: the
  // running fiber's stack (else the thread's), and the context's id (0: none, the loop) and
  // given name (null: the default one). Async-signal-safe: plain reads, no allocation.
  struct running_context {
    stack_bounds stack;
    std::uint64_t id = 0;
    bool is_task = false;
    const char* given_name = nullptr;
  };
  [[nodiscard]] virtual running_context running_now() const noexcept = 0;

 protected:
  watched_shard() = default;
  watched_shard(const watched_shard&) = delete;
  watched_shard& operator=(const watched_shard&) = delete;
  ~watched_shard() = default;
};

class watchdog {
 public:
  static watchdog& instance();
  void configure(watchdog_options options);
  // A scheduler registered: make sure the monitor runs (if enabled).
  void scheduler_started();

  // Every lock a forked child's first balrog call may take that the fork handlers hold across
  // fork(), in their order: for tests that hold one across a fork.
  static std::vector<std::mutex*> fork_guarded_locks_for_testing();

 private:
  watchdog() = default;
  // pthread_atfork handlers (registered with the instance): see watchdog.cpp.
  static void before_fork() noexcept;
  static void after_fork_in_parent() noexcept;
  static void after_fork_in_child() noexcept;
  void monitor();
  void check_all(std::chrono::milliseconds threshold, bool capture);

  std::mutex mutex_;
  std::condition_variable changed_;
  watchdog_options options_;
  bool running_ = false;
};

// The handler's job, exposed for the scheduler to install once per process.
void install_watchdog_signal();

}  // namespace balrog::detail
