// The scheduler of one thread (a shard): ready queue, fiber switching, the run loop.
//
// Switching is direct: a fiber that suspends or yields switches straight to the next ready
// fiber, not through the loop, so a switch costs one context switch
// (context/context_switch.hpp). The loop (running on the thread's own stack) takes over when
// the ready queue is empty, or after `dispatch_budget` (shard_options) direct switches, so
// timers, fd events and wake-ups from other threads are never starved by fibers that keep
// yielding to each other.
//
// Who calls what:
//   the running fiber     — yield(), suspend(), spawn(); fiber_main() is every fiber's entry
//   wakers (any thread)   — schedule(fiber)  (same thread: ready queue; else: remote queue)
//   any thread            — send(node): the loop runs the node's function (a spawn_on, a
//                           cross-thread cancel, a chain coming home); post(task) for a
//                           std::function (allocates; for what is not hot)
//   balrog::run           — run(main)
//   balrog::event_loop    — run_turn(max_wait) from its host, then shut_down() (or
//                           forget_after_fork() in a forked child)
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <pthread.h>

#include "balrog/debug.hpp"
#include "balrog/runtime.hpp"
#include "context/context_cache.hpp"
#include "context/context_switch.hpp"
#include "context/exception_state.hpp"
#include "context/sanitizer.hpp"
#include "core/coro/task_context.hpp"
#include "core/fiber/fiber_context.hpp"
#include "core/shard/ready_queue.hpp"
#include "core/shard/remote_queue.hpp"
#include "debug/backtrace.hpp"
#include "debug/watchdog.hpp"
#include "reactor/reactor.hpp"
#include "reactor/timer_wheel.hpp"
#include "stack/overflow_guard.hpp"
#include "stack/stack_pools.hpp"

namespace balrog::detail {

struct shard_table;  // runtime/src/core/shard/shard_table.hpp

class scheduler final : public watched_shard {
 public:
  // options.dispatch_budget: direct fiber-to-fiber switches before the loop gets a turn.
  explicit scheduler(const shard_options& options = {});
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // The scheduler running on this thread, or null.
  static scheduler* current() noexcept { return current_; }

  // Allocates a fiber context (one block with room for a task of `task_size` bytes) and its
  // stack; nothing runs until start(). Returns it with one reference, the scheduler's.
  fiber_context* create_fiber(std::size_t task_size, std::size_t task_align,
                              fiber_options&& options);
  // The two halves of create_fiber, for fibers another thread spawns on this shard
  // (spawn_on): any thread allocates (this scheduler is its owner); this thread attaches.
  fiber_context* allocate_fiber(std::size_t task_size, std::size_t task_align,
                                fiber_options&& options);
  void attach_stack(fiber_context& f);
  // The block a fiber context and its task live in. Any thread; on the owner's thread, from
  // (and back to) this scheduler's cache of freed blocks when the size allows.
  void* allocate_context_block(std::size_t bytes, std::size_t align);
  static void free_context_block(scheduler& owner, void* block, std::size_t bytes,
                                 std::size_t align) noexcept;
  // spawn_on from another thread: count the fiber now (so the shard does not stop first),
  // then adopt it on this shard's thread (a posted task): stack, registration, ready queue.
  void expect_remote_fiber() noexcept;
  void adopt(fiber_context& f) noexcept;

  // Worker shards of a runtime keep running with nothing attached, until asked to stop.
  void keep_alive() noexcept { keep_alive_ = true; }
  void request_stop() noexcept;  // any thread

  // Which runtime this is a shard of (set by the runtime before run(); which shard of it:
  // shard_index, of watched_shard).
  shard_table* shards = nullptr;

  // Observability (runtime/src/debug/, below core): watched_shard holds the registry link,
  // the thread and its stack, and the watchdog's state; running_now() answers its signal
  // handler. The loop's clock reading of this turn (waits record when they started from it).
  [[nodiscard]] running_context running_now() const noexcept override;
  [[nodiscard]] clock::time_point loop_now() const noexcept { return loop_now_; }
  // Describes this shard's fibers and tasks. Its own thread only.
  void describe(std::vector<fiber_snapshot>& out) const;

  // A fresh fiber or task id (unique in the process, never 0); new_id on this scheduler's
  // thread, any_thread_id anywhere (it uses the calling thread's scheduler, if any).
  std::uint64_t new_id() noexcept;
  static std::uint64_t any_thread_id() noexcept;
  // Registers a fiber or task whose `task` is set, and queues it.
  void start(joinable_context& j) noexcept;

  // Runs until every non-detached fiber and task finished; detached ones are then cancelled
  // and drained.
  void run();

  // Host-driven loops (balrog/event_loop.hpp). One turn: wake-ups, timers, a wait of at most
  // `max_wait` (negative: until the next timer) when nothing is ready, then everything that
  // was ready at that point.
  void run_turn(clock::duration max_wait);
  [[nodiscard]] bool has_ready() const noexcept {
    return !ready_.empty() || remote_pending_.load(std::memory_order_acquire) ||
           remote_.maybe_nonempty();
  }
  [[nodiscard]] std::size_t live() const noexcept { return live_; }
  // Cancels everything alive, runs turns until it has unwound, then refuses posts.
  void shut_down();
  // Sync mode's cached scheduler (runtime.cpp's run_sync): after run() it leaves the thread
  // (current() is null again) and comes back for the next call, ready to run again.
  void leave_thread() noexcept;
  // Throws usage_error when a scheduler already runs on this thread.
  void return_to_thread();
  // In a forked child: this thread forgets the scheduler without running anything (see
  // event_loop::abandon_after_fork); the caller leaks the object.
  void forget_after_fork() noexcept;

  [[nodiscard]] fiber_context* running() const noexcept { return running_; }
  // The coroutine task whose code the loop is running now, or null.
  [[nodiscard]] task_context* running_task() const noexcept { return running_task_; }

  // A task's driver completed (from its last step, or posted when it completed elsewhere).
  void task_completed(task_context& t) noexcept;
  // A chain of `j` (a task, or a fiber inside balrog::await) that a foreign awaitable
  // completed elsewhere came home (come_home): resume `h` as `j`. On the loop.
  void resume_home(joinable_context& j, std::coroutine_handle<> h) noexcept;

  // Running fiber only. Inline (below): this_fiber::yield() and every wait compile to the
  // bookkeeping and one call of the switch.
  void yield();
  void suspend();

  // Makes a claimed fiber or task runnable. Any thread.
  void schedule(joinable_context& j) noexcept;
  // Runs `task` on this scheduler's loop soon. Any thread. Returns false (and drops the task)
  // once the scheduler has stopped accepting work.
  bool post(std::function<void()> task);
  // Has the loop run `n.remote_fn(n, true)` soon. Any thread. Returns false (and leaves the
  // node to the caller) once the scheduler has stopped accepting work.
  bool send(remote_node& n) noexcept {
    if (!enter_remote()) return false;
    push_and_leave(n);
    return true;
  }
  // send() in two halves, for a sender that must hold something (a lock that keeps the
  // scheduler from finishing) until it is counted in, but not while it pushes and signals.
  // After enter_remote() succeeded the scheduler waits for push_and_leave() before it goes
  // away; push_and_leave's last touch of it is the count's decrement.
  bool enter_remote() noexcept {
    if ((remote_users_.fetch_add(2, std::memory_order_acquire) & remote_closed) == 0) return true;
    remote_users_.fetch_sub(2, std::memory_order_release);
    return false;
  }
  void push_and_leave(remote_node& n) noexcept {
    remote_.push(n);
    wake_loop();
    remote_users_.fetch_sub(2, std::memory_order_release);
  }

  // A fiber stopped counting towards what run() waits for (it finished, or was detached).
  // Any thread.
  void release_attachment() noexcept {
    if (current_ == this) {
      --attached_here_;
      return;
    }
    release_attachment_elsewhere();
  }

  reactor& io() noexcept { return reactor_; }
  timer_wheel& timers() noexcept { return timers_; }

  // Every fiber's first frame (make_context): runs its task, then ends it and switches away
  // for good. `arg` is the fiber_context.
  [[noreturn]] static void fiber_main(void* arg) noexcept;

  // Every live fiber, for dump_fibers and shutdown.
  template <class F>
  void for_each_joinable(F&& f) const {
    for (joinable_context* c = all_head_; c != nullptr; c = c->all_next) f(*c);
  }

 private:
  switch_frame& frame_of(fiber_context* f) noexcept { return f ? f->frame : loop_frame_; }
  // Always inline, even at -O0: under TSan an instrumented out-of-line arrived() would record
  // its entry on the TSan fiber that left (a fiber ending jumps away without a switch) and its
  // exit on the one that arrived, and the shadow stacks would drift a frame per fiber end.
  [[gnu::always_inline]] void switch_to(switch_frame& from, fiber_context* next) noexcept;
  // First thing on the arriving side of every switch (and of a fiber's first run).
  [[gnu::always_inline]] void arrived(switch_frame& self) noexcept;
  // Inline in fiber_main (scheduler.cpp): a fiber's frames then leave no return-stack-buffer
  // entry behind when it jumps away for good (balrog_context_start says why that matters).
  [[noreturn, gnu::always_inline]] inline void fiber_exit(fiber_context& f) noexcept;
#if BALROG_TAIL_SWITCH
  // yield()'s switch, with nothing after it (context_switch.hpp's tail switch).
  [[gnu::always_inline]] void yield_to(fiber_context* self, fiber_context* next) noexcept;
  [[gnu::noinline]] void yield_to_after_giving_back(fiber_context* self,
                                                    fiber_context* next) noexcept;
#endif
  void give_back_dead_stack() noexcept;
  void release_attachment_elsewhere() noexcept;
  fiber_context* next_ready() noexcept;
  // Starts loading the stack of the fiber that runs after the one next_ready() just popped
  // (suspend(): the wait path; not yield(), whose round trip is a few ns).
  void prefetch_following() const noexcept;
  void check_canary(const fiber_context& leaving) const noexcept;
  void drain_remote();
  // A waker published work: if the loop is blocked (or about to block) in poll, interrupt it.
  void wake_loop() noexcept {
    if (sleeping_.load(std::memory_order_seq_cst) &&
        sleeping_.exchange(false, std::memory_order_seq_cst)) {
      reactor_.interrupt();
    }
  }
  // The remote_fn of a runnable another thread woke: queue it here.
  static void remote_wake(remote_node& n, bool run);
  // Waits in epoll until the next timer, or for at most `limit` when that is sooner
  // (negative: no limit of its own). `host_turn` (run_turn): no idle spin, so a signal during
  // the wait always interrupts it.
  void wait_for_events(clock::duration limit = clock::duration(-1), bool host_turn = false);
  // Before the loop sleeps: watches the remote queue for a bounded while. True if work came.
  bool spin_for_remote() noexcept;
  // The idle spin pays only where wake-ups come from other threads. After this many spins in a
  // row that caught nothing and were followed by a sleep no other thread ended (an fd event or
  // a timer: a Postgres query at concurrency 1), the loop sleeps at once, until a wake-up from
  // another thread ends a sleep again (its 4 sched_yields were 4 of the 7 system calls of such
  // a query; blocking libpq makes 3).
  static constexpr unsigned fruitless_spins_before_rest = 16;
  unsigned fruitless_spins_ = 0;
  // Runs one ready runnable with the watchdog's turn markers around it.
  void run_one(runnable* r);
  void stop_accepting_posts() noexcept;
  void cancel_everything() noexcept;
  void link(joinable_context& j) noexcept;
  void unlink(joinable_context& j) noexcept;
  void dispatch(runnable* r);

  // constinit: no TLS wrapper call on every access from other translation units.
  static constinit thread_local scheduler* current_;

  fiber_context* running_ = nullptr;  // null while the loop (or a coroutine task) runs
  task_context* running_task_ = nullptr;
  switch_frame loop_frame_;
#if defined(BALROG_ASAN)
  switch_frame* switching_from_ = nullptr;  // null: the leaving context ended
#endif
  // The stack of a fiber that just ended: it switched away from it, so the arriving side
  // gives it back to its pool (a pool may unmap it, which cannot be done while running on it).
  stack_source* dead_stack_owner_ = nullptr;
  boost::context::stack_context dead_stack_;
  exception_state* const exceptions_;
  unsigned budget_ = 0;
  const shard_options options_;  // tunables (balrog/runtime.hpp)

  ready_queue ready_;
  timer_wheel timers_;
  reactor reactor_;
  stack_pools stacks_;
  // The pool of the last stack kind and requested size (nearly every spawn asks the same).
  stack_source* last_stack_source_ = nullptr;
  stack_kind last_stack_kind_ = stack_kind::guarded;
  std::size_t last_stack_size_requested_ = 0;
  context_cache contexts_;
  overflow_guard overflow_guard_;

  // Wake-ups and tasks from other threads (remote_queue.hpp). remote_users_ counts the
  // senders between enter_remote() and their last touch, two per sender; its low bit closes the
  // queue (stop_accepting_posts), which then waits for the count to drop to zero, so no sender
  // touches a scheduler that has gone away ("last touch": J in the runtime review).
  // remote_users_ and the loop's two flags below live on cache lines of their own: the idle
  // spin keeps reading remote_pending_ while a sender counts itself in and out, and sharing
  // one line moved it between the two cores at each count.
  static constexpr std::uint64_t remote_closed = 1;
  remote_queue remote_;
  alignas(64) std::atomic<std::uint64_t> remote_users_{0};
  // Look again without anything queued: an attachment released elsewhere, a stop request.
  alignas(64) std::atomic<bool> remote_pending_{false};
  // The loop is about to block, or blocks, in poll: wakers write the reactor's eventfd.
  std::atomic<bool> sleeping_{false};

  // Registry and accounting.
  alignas(64) joinable_context* all_head_ = nullptr;
  std::size_t live_ = 0;  // fibers not yet finished
  // Of those, the ones run() waits for: counted on this thread without atomics, and by other
  // threads (spawn_on, a detach elsewhere) in attached_elsewhere_, which may go negative.
  std::ptrdiff_t attached_here_ = 0;
  std::atomic<std::ptrdiff_t> attached_elsewhere_{0};
  [[nodiscard]] bool nothing_attached() const noexcept {
    return attached_here_ + attached_elsewhere_.load(std::memory_order_acquire) == 0;
  }
  bool shutting_down_ = false;
  clock::time_point loop_now_{};
  bool keep_alive_ = false;
  std::atomic<bool> stop_requested_{false};
  std::uint64_t next_id_ = 0;
  std::uint64_t id_limit_ = 0;
};

// --- switching (inline: the hot path of every yield and wait) ---------------------------------

inline fiber_context* scheduler::next_ready() noexcept {
  // Only fibers are switched to directly; a coroutine task is resumed by the loop, on its stack.
  if (budget_ > 0 && !ready_.empty() && ready_.front()->what == runnable::kind::fiber) {
    --budget_;
    return static_cast<fiber_context*>(ready_.pop());
  }
  return nullptr;  // the loop
}

// A fiber woken by the reactor resumes on a stack nobody touched since it parked: with many
// connections (TCP echo, 1,000 fibers a process) each resume began with a run of cache misses
// on the stack's top lines (the saved registers and the wait path's frames). The fiber after
// the one we switch to now runs only after this one's system calls, time enough for the lines
// to arrive. Prefetches never fault, so a stale or short stack costs nothing.
inline void scheduler::prefetch_following() const noexcept {
  const runnable* r = ready_.front();
  if (r == nullptr || r->what != runnable::kind::fiber) return;
  const auto* sp = static_cast<const char*>(static_cast<const fiber_context*>(r)->frame.context);
  if (sp == nullptr) return;
  for (int off = -128; off < 1024; off += 64) __builtin_prefetch(sp + off, 1, 3);
}

inline void scheduler::check_canary(const fiber_context& leaving) const noexcept {
  const std::uint64_t* canary = leaving.stack.canary;
  // Guarded: the guard faults instead. Likely, so a yield's path stays straight (yield()).
  if (canary == nullptr) [[likely]] {
    return;
  }
  // Runs on the leaving fiber's stack: the stack pointer itself must still be above the floor
  // (a write that skipped the 64-byte canary leaves it intact; G in the runtime review).
  char here = 0;
  const bool below_floor = static_cast<const void*>(&here) < leaving.stack.lowest;
  if (below_floor || *canary != dense_canary) report_dense_overflow(leaving.overflow);
}

inline void scheduler::arrived(switch_frame& self) noexcept {
  sanitizer::tsan_arrive(self.tsan_fiber);
#if defined(BALROG_ASAN)
  if (switching_from_ != nullptr) {
    sanitizer::finish_switch(self.fake_stack, &switching_from_->stack_bottom,
                             &switching_from_->stack_size);
  } else {
    sanitizer::finish_switch(self.fake_stack, nullptr, nullptr);
  }
#endif
  if (dead_stack_owner_ != nullptr) [[unlikely]] {
    give_back_dead_stack();
  }
}

inline void scheduler::switch_to(switch_frame& from, fiber_context* next) noexcept {
  if (running_ != nullptr) check_canary(*running_);
  switch_frame& to = frame_of(next);
  running_ = next;
  watch.count_switch();  // the watchdog times each context (R in the runtime review)
  from.exceptions = *exceptions_;
  *exceptions_ = to.exceptions;
#if defined(BALROG_ASAN)
  switching_from_ = &from;
#endif
  sanitizer::tsan_switch(from.tsan_fiber, to.tsan_fiber);
  sanitizer::start_switch(&from.fake_stack, to.stack_bottom, to.stack_size);
  if (to.fresh) {
    to.fresh = false;
    start_context(&from.context, to.context);
  } else {
    switch_context(&from.context, to.context);
  }
  // Back on `from`'s stack, resumed by some other context.
  arrived(from);
}

inline void scheduler::yield() {
  fiber_context* self = running_;
  ready_.push(*self);
  fiber_context* next = next_ready();
  // The hints lay the common case out as straight-line code, from this_fiber::yield()'s entry
  // to the jump into the switch: with four taken branches on it (GCC's layout without them),
  // the round trip moved between 11 and 14 ns with where the linker put the function.
  if (next == self) [[unlikely]] {
    return;  // nobody else is ready and the loop need not run yet
  }
#if BALROG_TAIL_SWITCH
  // The tail switch (context_switch.hpp): the switch is the last call, so this_fiber::yield()
  // jumps into it and the fiber we switch to continues in *its* caller, with no return through
  // scheduler code (and none of the return-stack mispredictions that costs). Nothing runs on
  // the arriving side, so what arrived() does is done here, before leaving: a stack left by a
  // fiber that ended is given back now (the arriving side may be a fiber that yielded too).
  if (dead_stack_owner_ != nullptr) [[unlikely]] {
    return yield_to_after_giving_back(self, next);  // keeps calls off the hot path
  }
  yield_to(self, next);
#else
  switch_to(self->frame, next);
#endif
}

#if BALROG_TAIL_SWITCH
inline void scheduler::yield_to(fiber_context* self, fiber_context* next) noexcept {
  check_canary(*self);
  switch_frame& to = frame_of(next);
  to.fresh = false;  // a tail switch continues a fresh context as any other
  running_ = next;
  self->frame.exceptions = *exceptions_;
  *exceptions_ = to.exceptions;
  tail_switch_context(&self->frame.context, to.context);  // the last call: a jump
}
#endif

inline void scheduler::suspend() {
  fiber_context* self = running_;
  fiber_context* next = next_ready();
  prefetch_following();
  switch_to(self->frame, next);
}

}  // namespace balrog::detail
