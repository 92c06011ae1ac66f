#include "debug/watchdog.hpp"

#include <pthread.h>
#include <signal.h>
#include <ucontext.h>
#if defined(BALROG_TSAN)
#include <unwind.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "balrog/deadline.hpp"
#include "debug/elf_symbols.hpp"
#include "debug/registry.hpp"

namespace balrog::detail {

namespace {

int watchdog_signal() { return SIGRTMIN + 6; }

// Bumped by every configure() (under watchdog::mutex_). A stall found under one configuration
// is never reported under a later one: set_watchdog({.threshold = 0ms, .hook = h}) must not
// see a report of a stall the previous settings found a moment before.
std::uint64_t config_generation = 0;
// The generation the monitor thread is checking under (the monitor thread only).
std::uint64_t checking_generation = 0;
// Held while reports are handed to the printer and the hook. configure() takes it once after
// storing the new options, so when set_watchdog returns, the old hook is not running and never
// will be again (it may capture objects its caller is about to destroy).
std::mutex delivery_mutex;
thread_local bool on_monitor_thread = false;  // a hook that calls set_watchdog must not wait
// Whether before_fork took delivery_mutex (not when a hook, which holds it, forks).
thread_local bool fork_took_delivery = false;

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
      .count();
}

#if defined(BALROG_TSAN)
// TSan defers an asynchronous signal to its next safe point on the thread (an atomic operation
// or an interceptor) and hands the handler the context of the moment the signal arrived: its pc
// is then usually inside libtsan, which keeps no frame pointers, so a frame-pointer walk ends
// at the first frame. The handler runs at that safe point, synchronously, with the stalled code
// still below it on the stack: the CFI unwinder walks through libtsan's frames into it. (Not
// async-signal-safe in general; under TSan no handler runs inside the unwinder's own locks.)
struct unwind_capture {
  std::uintptr_t* out;
  std::size_t max;
  std::size_t n = 0;
  bool skipped_self = false;
};

_Unwind_Reason_Code unwind_one(struct _Unwind_Context* ctx, void* arg) {
  auto& c = *static_cast<unwind_capture*>(arg);
  if (!c.skipped_self) {  // the handler's own frame
    c.skipped_self = true;
    return _URC_NO_REASON;
  }
  const auto pc = static_cast<std::uintptr_t>(_Unwind_GetIP(ctx));
  if (pc == 0 || c.n == c.max) return _URC_END_OF_STACK;
  c.out[c.n++] = pc;
  return _URC_NO_REASON;
}
#endif

// Runs on the stalled thread. Async-signal-safe: plain reads of this thread's scheduler, a
// frame-pointer walk inside known stack bounds, no allocation.
void on_watchdog_signal(int /*sig*/, siginfo_t* /*info*/, void* uctx) {
  watched_shard* s = this_thread_shard();
  if (s == nullptr) return;
  watch_state& w = s->watch;
  if (w.capture_state.load(std::memory_order_acquire) != 1) return;
  const auto* uc = static_cast<const ucontext_t*>(uctx);
  const auto pc = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  const auto fp = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RBP]);
  const watched_shard::running_context who = s->running_now();
#if defined(BALROG_TSAN)
  // Always the CFI walk (above): with the pc in libtsan, a frame-pointer walk either ends at once
  // or, when libtsan's function was called from code that keeps frame pointers, skips that
  // caller (its return address is not on the rbp chain) and reports the stall one frame too
  // high. The frame-pointer walk is kept for a CFI walk that finds nothing.
  unwind_capture c{w.capture_pcs, watch_state::max_frames};
  _Unwind_Backtrace(unwind_one, &c);
  w.capture_frames =
      c.n >= 2 ? c.n : walk_frames(pc, fp, who.stack, w.capture_pcs, watch_state::max_frames);
#else
  w.capture_frames = walk_frames(pc, fp, who.stack, w.capture_pcs, watch_state::max_frames);
#endif
  w.capture_switches = w.switches.load(std::memory_order_relaxed);
  w.capture_id = who.id;
  w.capture_is_task = who.is_task;
  w.capture_name[0] = '\0';
  if (const char* given = who.given_name) {
    std::size_t i = 0;
    for (; given[i] != '\0' && i + 1 < sizeof w.capture_name; ++i) w.capture_name[i] = given[i];
    w.capture_name[i] = '\0';
  }
  w.capture_state.store(2, std::memory_order_release);
}

// One line per stall, naming the culprit once (and where it was, when known); the full
// backtrace goes to the hook (watchdog_report::backtrace), not into the program's output.
// Without an id, an empty name means the loop itself held the thread, and any other name says
// why the culprit is not known.
void print_report(const watchdog_report& r) {
  std::string text = "balrog watchdog: shard " + std::to_string(r.shard) +
                     " has not returned to its loop for " + std::to_string(r.stalled_for.count()) +
                     " ms; ";
  if (r.id) {
    text += "it is running '" + r.name + "' (#" + std::to_string(r.id.value()) + ")";
  } else if (r.name.empty()) {
    text += "no fiber is running (the loop itself)";
  } else {
    text += r.name;
  }
  if (!r.backtrace.empty()) text += ", in " + r.backtrace.front();
  text += "\n";
  std::fputs(text.c_str(), stderr);
}

// True when the thread is blocked in a system call (/proc/self/task/<tid>/syscall names one):
// a signal would interrupt it, and code balrog does not own (a select() with no EINTR loop)
// would fail. The watchdog never signals such a thread (section 3 of the runtime issue).
// `line` gets the whole line (number, arguments, stack and instruction pointers), "" when
// procfs cannot be read.
bool blocked_in_syscall(int tid, long& number, char (&line)[watch_state::syscall_line_bytes]) {
  line[0] = '\0';
  if (tid == 0) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) {  // cannot tell (no procfs, a sandbox): do not risk it
    number = -1;
    return true;
  }
  const bool got = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  if (!got || std::strncmp(line, "running", 7) == 0) return false;
  char* end = nullptr;
  number = std::strtol(line, &end, 10);
  return end != line && number >= 0;  // -1: not in a system call (a fault, or stopped)
}

}  // namespace

void install_watchdog_signal() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_watchdog_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(watchdog_signal(), &sa, nullptr);
  });
}

watchdog& watchdog::instance() {
  // Never destroyed: its thread lives as long as the process.
  static watchdog* const w = [] {
    auto* made = new watchdog();
    ::pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child);
    return made;
  }();
  return *w;
}

// fork() copies a lock that another thread holds, and in the child no thread will ever release
// it: the parent's monitor thread holding mutex_ or the registry's lock at that moment hung the
// child's first scheduler (register_scheduler). As glibc does for malloc, the forking thread
// takes the locks a child's balrog calls may need, in the order the other paths nest them
// (delivery_mutex, then mutex_; the registry's and the symbol tables' nest in nothing of ours
// but may be held under them), so the fork happens while no other thread is inside them.
void watchdog::before_fork() noexcept {
  watchdog& w = instance();
  fork_took_delivery = !on_monitor_thread;  // a hook that forks holds delivery_mutex already
  if (fork_took_delivery) delivery_mutex.lock();
  w.mutex_.lock();
  registry_mutex().lock();
  elf_symbols_mutex().lock();
}

void watchdog::after_fork_in_parent() noexcept {
  watchdog& w = instance();
  elf_symbols_mutex().unlock();
  registry_mutex().unlock();
  w.mutex_.unlock();
  if (fork_took_delivery) delivery_mutex.unlock();
}

// The child has only the forking thread. The parent's monitor thread is not here: the child's
// first scheduler starts a fresh one if the options say so (unless this thread is the monitor,
// forking from a hook, which goes on monitoring here). The condition variable the parent's
// monitor waited on still counts it as a waiter (glibc's broadcast and destroy would wait for
// it): it is made anew, the old one left as it is.
void watchdog::after_fork_in_child() noexcept {
  watchdog& w = instance();
  registry_after_fork_in_child();
  elf_symbols_mutex().unlock();
  registry_mutex().unlock();
  w.running_ = on_monitor_thread;
  std::construct_at(&w.changed_);
  w.mutex_.unlock();
  if (fork_took_delivery) delivery_mutex.unlock();
}

std::vector<std::mutex*> watchdog::fork_guarded_locks_for_testing() {
  return {&delivery_mutex, &instance().mutex_, &registry_mutex(), &elf_symbols_mutex()};
}

void watchdog::configure(watchdog_options options) {
  {
    std::lock_guard lk(mutex_);
    options_ = std::move(options);
    ++config_generation;
  }
  changed_.notify_all();
  if (!on_monitor_thread) {
    std::lock_guard wait_for_delivery(delivery_mutex);  // a report being delivered ends first
  }
  scheduler_started();
}

void watchdog::scheduler_started() {
  std::lock_guard lk(mutex_);
  if (running_ || options_.threshold.count() <= 0) return;
  running_ = true;
  install_watchdog_signal();
  std::thread t(&watchdog::monitor, this);
  ::pthread_setname_np(t.native_handle(), "balrog-watchdog");
  t.detach();
}

void watchdog::monitor() {
  on_monitor_thread = true;
  std::unique_lock lk(mutex_);
  for (;;) {
    if (options_.threshold.count() <= 0) {
      changed_.wait(lk);
      continue;
    }
    const auto interval = std::max(std::chrono::milliseconds(5), options_.threshold / 4);
    changed_.wait_for(lk, interval);
    // The settings after the wait (configure() may have changed them), checked under them.
    const auto threshold = options_.threshold;
    if (threshold.count() <= 0) continue;
    const bool capture = options_.capture_stack;
    checking_generation = config_generation;
    lk.unlock();
    check_all(threshold, capture);
    lk.lock();
  }
}

void watchdog::check_all(std::chrono::milliseconds threshold, bool capture) {
  // Under the registry lock: find the stalled shards, pin each (so it outlives the lock) and
  // signal it. The wait for the captures happens with the lock released, so it never stalls
  // dump_fibers, new schedulers or sync-mode awaits (B in the runtime review).
  struct stalled_shard {
    watched_shard* s;
    std::uint64_t switches;  // the stalled context's count
    watchdog_report r;
  };
  std::vector<stalled_shard> stalled;
  {
    std::lock_guard reg(registry_mutex());
    for (watched_shard* s = registry_head; s != nullptr; s = s->registry_next) {
      watch_state& w = s->watch;
      // The count, then the clock: the context this count stands for got the thread before
      // `now`, so timing it from the first look that saw the count never overstates how long
      // it has held the thread (R in the runtime review); it is at most one look late. A turn
      // that starts after this load comes with a newer count.
      const std::uint64_t switches = w.switches.load(std::memory_order_acquire);
      const std::int64_t started = w.turn_started_ns.load(std::memory_order_relaxed);
      const std::int64_t now = now_ns();
      if (switches != w.seen_switches || w.seen_since_ns == 0) {
        w.seen_switches = switches;
        w.seen_since_ns = now;
      }
      if (started == 0 || switches == w.reported_switch) continue;
      const std::int64_t since = std::max(started, w.seen_since_ns);
      const auto stalled_for = std::chrono::nanoseconds(now - since);
      if (stalled_for < threshold) continue;
      watchdog_report r;
      r.shard = s->shard_index;
      r.stalled_for = std::chrono::duration_cast<std::chrono::milliseconds>(stalled_for);
      if (!capture) {
        w.reported_switch = switches;
        r.name = "the fiber is not known (capture_stack is off)";
        stalled.push_back({nullptr, switches, std::move(r)});
        continue;
      }
      long nr = 0;
      char line[watch_state::syscall_line_bytes];
      if (blocked_in_syscall(w.tid.load(std::memory_order_relaxed), nr, line)) {
        // Blocked only if the last look saw the same call: a thread seen once in a system call
        // may just have waited a moment for a lock (a malloc arena's, a sanitizer's) and be
        // running again, and a signal then names its fiber.
        if (w.blocked_switch != switches || std::strcmp(line, w.blocked_line) != 0) {
          w.blocked_switch = switches;
          std::memcpy(w.blocked_line, line, sizeof line);
          continue;
        }
        w.reported_switch = switches;
        r.name = nr >= 0 ? "blocked in system call " + std::to_string(nr) +
                               ", which balrog does not own; left uninterrupted"
                         : std::string(
                               "perhaps in a system call (/proc/self/task/<tid>/syscall "
                               "is unreadable); left uninterrupted");
        stalled.push_back({nullptr, switches, std::move(r)});
        continue;
      }
      w.blocked_switch = ~std::uint64_t{0};
      w.reported_switch = switches;
      w.pins.fetch_add(1, std::memory_order_acq_rel);
      w.capture_state.store(1, std::memory_order_release);
      ::pthread_kill(s->thread, watchdog_signal());
      stalled.push_back({s, switches, std::move(r)});
    }
  }
  std::vector<watchdog_report> reports;
  for (stalled_shard& st : stalled) {
    if (st.s != nullptr) {
      watch_state& w = st.s->watch;
      // The stalled thread must get a CPU to run the handler: on a loaded machine that can take
      // a while, so allow it half a second before reporting without a stack.
      for (int i = 0; i < 500 && w.capture_state.load(std::memory_order_acquire) != 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (w.capture_state.load(std::memory_order_acquire) == 2 &&
          w.capture_switches != st.switches) {
        // The stalled context gave the thread up before the signal landed: whatever runs now
        // is not to blame.
        st.r.name = "the fiber is not known (it yielded before the watchdog's signal arrived)";
      } else if (w.capture_state.load(std::memory_order_acquire) == 2) {
        watchdog_report& r = st.r;
        r.id = fiber_id(w.capture_id);
        r.name = w.capture_name[0] != '\0' ? std::string(w.capture_name)
                 : w.capture_id == 0       ? std::string()
                                           : std::string(w.capture_is_task ? "task-" : "fiber-") +
                                           std::to_string(w.capture_id);
        r.backtrace = symbolize(w.capture_pcs, w.capture_frames);
      } else if (w.switches.load(std::memory_order_acquire) != st.switches) {
        // No answer, but the stalled context gave the thread up meanwhile: the signal landed
        // after it had moved on and is still pending (TSan holds an asynchronous signal for the
        // context it arrived on until that context's next safe point), so nobody is to blame.
        st.r.name =
            "the fiber is not known (it gave up the thread before answering the watchdog's "
            "signal)";
      } else {
        st.r.name = "the fiber is not known (the thread did not answer the watchdog's signal)";
      }
      w.capture_state.store(0, std::memory_order_release);
      w.pins.fetch_sub(1, std::memory_order_acq_rel);  // the last touch of the scheduler
    }
    reports.push_back(std::move(st.r));
  }
  if (reports.empty()) return;
  std::lock_guard delivering(delivery_mutex);
  watchdog_options opts;
  {
    std::lock_guard lk(mutex_);
    if (config_generation != checking_generation) return;  // found under older settings
    opts = options_;
  }
  for (const auto& r : reports) {
    if (opts.print) print_report(r);
    if (opts.hook) {
      try {
        opts.hook(r);
      } catch (...) {
        std::fputs("balrog watchdog: the report hook threw; ignored\n", stderr);
      }
    }
  }
}

}  // namespace balrog::detail

namespace balrog {

void set_watchdog(watchdog_options options) {
  detail::watchdog::instance().configure(std::move(options));
}

}  // namespace balrog
