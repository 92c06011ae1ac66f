#include "core/shard/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <new>
#include <utility>

#include <sched.h>

#include "balrog/errors.hpp"
#include "context/sanitizer.hpp"
#include "debug/registry.hpp"
#include "stack/stack_source.hpp"

namespace balrog::detail {

namespace {

std::atomic<std::uint64_t> next_fiber_id{1};

// A std::function posted from anywhere: the one remote node that is allocated.
struct posted_function : remote_node {
  explicit posted_function(std::function<void()>&& f) : fn(std::move(f)) {}
  std::function<void()> fn;
};

void run_posted(remote_node& n, bool run) {
  std::unique_ptr<posted_function> p(static_cast<posted_function*>(&n));
  if (!run) return;
  const std::function<void()> fn = std::move(p->fn);
  p.reset();
  fn();
}

}  // namespace

constinit thread_local scheduler* scheduler::current_ = nullptr;

const overflow_facts* running_overflow_facts() noexcept {
  const scheduler* s = scheduler::current();
  const fiber_context* f = s != nullptr ? s->running() : nullptr;
  return f != nullptr ? &f->overflow : nullptr;
}

namespace {

[[noreturn]] void throw_nested_run() {
  throw usage_error(
      "balrog::run: this thread already runs a balrog scheduler (balrog::run cannot nest)");
}

}  // namespace

scheduler::scheduler(const shard_options& options)
    : exceptions_(thread_exception_state()),
      options_(options),
      stacks_(options.cached_guarded_stacks),
      contexts_(options.cached_context_blocks) {
  if (current_ != nullptr) throw_nested_run();
  current_ = this;
  thread = ::pthread_self();
  pthread_attr_t attr;
  if (::pthread_getattr_np(thread, &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    if (::pthread_attr_getstack(&attr, &addr, &size) == 0) {
      const auto low = reinterpret_cast<std::uintptr_t>(addr);
      thread_stack = {low, low + size};
    }
    ::pthread_attr_destroy(&attr);
  }
  register_scheduler(*this);
}

scheduler::~scheduler() {
  unregister_scheduler(*this);
  if (current_ == this) current_ = nullptr;  // a cached sync-mode scheduler is not current
  // Tasks posted after the loop stopped hold references to fibers; dropping them releases.
  stop_accepting_posts();
}

void* scheduler::allocate_context_block(std::size_t bytes, std::size_t align) {
  if (!context_cache::cacheable(bytes, align)) {
    return ::operator new(bytes, static_cast<std::align_val_t>(align));
  }
  if (current_ == this) {
    if (void* block = contexts_.take(bytes)) return block;
  }
  return ::operator new(context_cache::rounded(bytes));
}

void scheduler::free_context_block(scheduler& owner, void* block, std::size_t bytes,
                                   std::size_t align) noexcept {
  if (!context_cache::cacheable(bytes, align)) {
    ::operator delete(block, static_cast<std::align_val_t>(align));
    return;
  }
  // `owner` may be gone; then it is not this thread's scheduler (~scheduler clears current_
  // first), and only its address is compared here.
  if (current_ == &owner && owner.contexts_.put(block, bytes)) return;
  ::operator delete(block);
}

fiber_context* scheduler::allocate_fiber(std::size_t task_size, std::size_t task_align,
                                         fiber_options&& options) {
  const std::size_t align = std::max(alignof(fiber_context), task_align);
  const std::size_t bytes = fiber_context::task_offset(align) + task_size;
  void* block = allocate_context_block(bytes, align);
  return ::new (block) fiber_context(*this, std::move(options.name), any_thread_id(), bytes, align,
                                     options.stack, options.stack_size);
}

void scheduler::attach_stack(fiber_context& f) {
  if (last_stack_source_ == nullptr || f.stack_kind_requested != last_stack_kind_ ||
      f.stack_size_requested != last_stack_size_requested_) {
    const std::size_t size = normalized_stack_size(f.stack_kind_requested, f.stack_size_requested);
    last_stack_source_ = &stacks_.get(f.stack_kind_requested, size);
    last_stack_kind_ = f.stack_kind_requested;
    last_stack_size_requested_ = f.stack_size_requested;
  }
  stack_source& source = *last_stack_source_;
  f.stack_memory = source.allocate();
  f.stack_owner = &source;
  source.describe(f.stack_memory, f.stack);
  sanitizer::unpoison(f.stack.lowest, f.stack.size);
  // Stack colouring: every stack's top is page-aligned, so without an offset the hot frames of
  // all fibers (the wait chain a suspended fiber returns through) sit at the same page offsets,
  // in the same few L1 sets (and L2 sets, whose index bits above the page offset are few). The
  // first frame starts up to 31 lines below the top instead, by fiber id.
  constexpr std::size_t colours = 32;
  constexpr std::size_t colour_bytes = 64;
  const std::size_t colour =
      f.stack_memory.size >= (64u << 10) ? (f.id % colours) * colour_bytes : 0;
  f.frame.context = make_context(static_cast<char*>(f.stack_memory.sp) - colour,
                                 f.stack_memory.size - colour, &fiber_main, &f);
  f.frame.fresh = true;
  f.frame.stack_bottom = f.stack.lowest;
  f.frame.stack_size = f.stack.size;
  f.overflow.stack_lowest = f.stack.lowest;
  f.overflow.stack_size = f.stack.size;
  f.overflow.name = f.given_name();
  f.overflow.id = f.id;
}

fiber_context* scheduler::create_fiber(std::size_t task_size, std::size_t task_align,
                                       fiber_options&& options) {
  fiber_context* f = allocate_fiber(task_size, task_align, std::move(options));
  try {
    attach_stack(*f);
  } catch (...) {
    f->destroy();
    throw;
  }
  return f;
}

std::uint64_t scheduler::any_thread_id() noexcept {
  return current_ != nullptr ? current_->new_id()
                             : next_fiber_id.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t scheduler::new_id() noexcept {
  // Ids come in blocks, so spawning does not touch a process-wide atomic every time.
  constexpr std::uint64_t block = 1024;
  if (next_id_ == id_limit_) {
    next_id_ = next_fiber_id.fetch_add(block, std::memory_order_relaxed);
    id_limit_ = next_id_ + block;
  }
  return next_id_++;
}

void scheduler::start(joinable_context& j) noexcept {
  link(j);
  ++live_;
  ++attached_here_;
  if (shutting_down_) j.request_cancel();  // started while run() drains: cancel at once
  ready_.push(j);
}

void scheduler::link(joinable_context& j) noexcept {
  j.all_next = all_head_;
  if (all_head_ != nullptr) all_head_->all_prev = &j;
  all_head_ = &j;
}

void scheduler::unlink(joinable_context& j) noexcept {
  (j.all_prev ? j.all_prev->all_next : all_head_) = j.all_next;
  if (j.all_next != nullptr) j.all_next->all_prev = j.all_prev;
  j.all_prev = j.all_next = nullptr;
}

// --- switching (the hot half is inline in scheduler.hpp) ----------------------------------

inline void scheduler::fiber_exit(fiber_context& f) noexcept {
  check_canary(f);
  // A stack still waiting to be given back (a fiber ended and the one it switched to had
  // yielded: it continued without arrived(), scheduler.hpp) goes back before we leave ours.
  if (dead_stack_owner_ != nullptr) give_back_dead_stack();
  // Outcome published, joiners woken, accounting done. True: the handle's holder is a fiber
  // of ours that waited in join and was woken, so until it runs nobody touches the reference
  // count and ours goes with a plain store.
  const bool joiner_here = f.finish();
  unlink(f);
  --live_;
  fiber_context* next = next_ready();
  switch_frame& to = frame_of(next);
  to.fresh = false;  // the jump continues a fresh context as any other
  running_ = next;
  watch.count_switch();  // the watchdog times each context (R in the runtime review)
  *exceptions_ = to.exceptions;
#if defined(BALROG_ASAN)
  switching_from_ = nullptr;  // this context never runs again
#endif
  // We still run on this stack: whoever arrives next gives it back (arrived()).
  dead_stack_owner_ = std::exchange(f.stack_owner, nullptr);
  dead_stack_ = f.stack_memory;
  void* const target = to.context;
  sanitizer::tsan_retire(f.frame.tsan_fiber);  // before f may be freed, by any thread
  if (joiner_here) {
    f.refs.store(f.refs.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  } else {
    release(&f);  // the scheduler's reference; may delete f
  }
  sanitizer::start_switch(nullptr, to.stack_bottom, to.stack_size);
  jump_context_from_end(target);
}

void scheduler::fiber_main(void* arg) noexcept {
  auto& f = *static_cast<fiber_context*>(arg);
  scheduler& s = f.sched;
  s.arrived(f.frame);
  f.task->run();
  if (f.locals != nullptr) destroy_fiber_locals(f);  // on the fiber, as thread exit would
  s.fiber_exit(f);
}

#if BALROG_TAIL_SWITCH
void scheduler::yield_to_after_giving_back(fiber_context* self, fiber_context* next) noexcept {
  give_back_dead_stack();
  yield_to(self, next);
}
#endif

void scheduler::give_back_dead_stack() noexcept {
  std::exchange(dead_stack_owner_, nullptr)->deallocate(dead_stack_);
}

// --- wake-ups ----------------------------------------------------------------------------

void scheduler::schedule(joinable_context& j) noexcept {
  if (current_ == this) {
    ready_.push(j);
    return;
  }
  // The runnable is its own node: no lock, no allocation. A claimed wait is woken once, so it
  // is in no queue now. Once the scheduler stopped there is nobody left to wake.
  j.remote_fn = &remote_wake;
  send(j);
}

void scheduler::remote_wake(remote_node& n, bool run) {
  if (run) current_->ready_.push(static_cast<runnable&>(n));
}

bool scheduler::post(std::function<void()> task) {
  auto* n = new posted_function(std::move(task));
  n->remote_fn = &run_posted;
  if (send(*n)) return true;
  delete n;
  return false;
}

void scheduler::release_attachment_elsewhere() noexcept {
  // The loop may be asleep waiting for this very fiber: let it re-check. Counted in as a
  // sender, so it cannot end and go away between our decrement and our signal. (Whether this
  // was the last one only the loop can tell: it is always told.)
  if (!enter_remote()) return;  // stopped: nobody waits for the count any more
  attached_elsewhere_.fetch_sub(1, std::memory_order_acq_rel);
  remote_pending_.store(true, std::memory_order_seq_cst);
  wake_loop();
  remote_users_.fetch_sub(2, std::memory_order_release);  // the last touch
}

void scheduler::drain_remote() {
  if (remote_pending_.load(std::memory_order_relaxed)) {
    remote_pending_.exchange(false, std::memory_order_acq_rel);
  }
  if (!remote_.maybe_nonempty()) return;
  // Up to what was queued when the drain began: what the nodes send themselves (a posted task
  // that posts again) waits for the next turn, as it did behind the old lock.
  const remote_node* const last = remote_.last();
  while (remote_node* n = remote_.pop()) {
    const bool end = n == last;
    n->remote_fn(*n, true);  // may free or re-queue n
    if (end) break;
  }
}

// --- the loop ----------------------------------------------------------------------------

void scheduler::wait_for_events(clock::duration limit, bool host_turn) {
  clock::duration timeout = limit;  // negative: forever
  if (!timers_.empty()) {
    const clock::duration to_timer =
        std::max(clock::duration::zero(), timers_.next() - clock::now());
    if (timeout < clock::duration::zero() || to_timer < timeout) timeout = to_timer;
  }
  // A host's turn (run_turn) does not spin. It ends early when a signal interrupts its wait
  // (EINTR, balrog/event_loop.hpp), and the host then runs what its handlers flagged (the
  // Python hub: PyErr_CheckSignals after every turn). The spin is no system call a signal
  // interrupts: a signal handled during it left the loop asleep in epoll until something else
  // woke it (balrog-wsgi's SIGTERM under CPU load, where the spin's sched_yields take
  // milliseconds: architecture.md, "Idle spin"). Blocking signals for the spin and unblocking
  // them with epoll_pwait is no cure: a process-directed signal then goes to another thread.
  const bool may_spin = !host_turn && timeout != clock::duration::zero();
  const bool spun = may_spin && fruitless_spins_ < fruitless_spins_before_rest;
  if (spun && spin_for_remote()) {
    fruitless_spins_ = 0;
    return;
  }
  sleeping_.store(true, std::memory_order_seq_cst);
  if (remote_pending_.load(std::memory_order_seq_cst) || remote_.maybe_nonempty()) {
    sleeping_.store(false, std::memory_order_relaxed);
    fruitless_spins_ = 0;
    return;
  }
  reactor_.poll(timeout);
  sleeping_.store(false, std::memory_order_relaxed);
  if (!may_spin) return;
  // Did another thread end this sleep? Then a spin may catch the next one: spin again.
  // Otherwise (an fd event, a timer) the spin was spent for nothing.
  if (remote_pending_.load(std::memory_order_relaxed) || remote_.maybe_nonempty()) {
    fruitless_spins_ = 0;
  } else if (spun) {
    ++fruitless_spins_;
  }
}

bool scheduler::spin_for_remote() noexcept {
  // The loop is not marked sleeping, so a sender meanwhile only pushes: no eventfd write, no
  // epoll wake-up, no eventfd read. Bounded: a few µs of CPU each time the shard goes idle.
  for (unsigned i = 0; i < options_.idle_spin_pauses; ++i) {
    if (remote_pending_.load(std::memory_order_relaxed) || remote_.maybe_nonempty()) return true;
    __builtin_ia32_pause();
  }
  for (unsigned i = 0; i < options_.idle_spin_yields; ++i) {
    ::sched_yield();
    if (remote_pending_.load(std::memory_order_relaxed) || remote_.maybe_nonempty()) return true;
  }
  return false;
}

void scheduler::cancel_everything() noexcept {
  for_each_joinable([](joinable_context& j) { j.request_cancel(); });
}

void scheduler::dispatch(runnable* r) {
  if (r->what == runnable::kind::fiber) {
    switch_to(loop_frame_, static_cast<fiber_context*>(r));
    return;
  }
  auto& t = *static_cast<task_context*>(r);
  if (finished(&t)) return;  // a stale queue entry of a task that completed elsewhere
  running_task_ = &t;
  const bool done = t.step();
  running_task_ = nullptr;
  if (done) task_completed(t);
}

void scheduler::resume_home(joinable_context& j, std::coroutine_handle<> h) noexcept {
  if (j.what == runnable::kind::fiber) {
    j.homecoming = h;  // the fiber waits in drive_here (uninterruptibly) for this
    j.try_wake(wake_reason::notified);
    return;
  }
  auto& t = static_cast<task_context&>(j);
  t.resume_at(h);
  running_task_ = &t;
  const bool done = t.step();
  running_task_ = nullptr;
  if (done) task_completed(t);
}

void scheduler::request_stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  remote_pending_.store(true, std::memory_order_seq_cst);  // make the loop look again
  if (sleeping_.exchange(false, std::memory_order_seq_cst)) reactor_.interrupt();
}

void scheduler::expect_remote_fiber() noexcept {
  attached_elsewhere_.fetch_add(1, std::memory_order_acq_rel);
}

void scheduler::adopt(fiber_context& f) noexcept {
  try {
    attach_stack(f);
  } catch (...) {
    // No stack for it: the fiber ends before it starts, with the reason as its outcome.
    f.task->fail(std::current_exception());
    f.finish();
    release(&f);  // the scheduler's reference
    return;
  }
  link(f);
  ++live_;
  if (shutting_down_) f.request_cancel();
  ready_.push(f);
}

void scheduler::task_completed(task_context& t) noexcept {
  if (finished(&t)) return;
  t.finish();
  unlink(t);
  --live_;
  release(&t);  // the scheduler's reference
}

void scheduler::run() {
  // A turn: wake-ups from other threads, due timers, then either a blocking wait for events
  // (nothing is ready) or one non-blocking look at the fds and a batch of up to
  // shard_options::dispatch_batch runnables. The non-blocking look is skipped right after a
  // blocking wait: it just returned what there was.
  bool just_waited = false;
  for (;;) {
    drain_remote();
    loop_now_ = clock::now();
    if (!timers_.empty()) timers_.fire_due(loop_now_);
    if (nothing_attached() && (!keep_alive_ || stop_requested_.load(std::memory_order_acquire))) {
      if (live_ == 0) break;
      if (!shutting_down_) {
        shutting_down_ = true;  // only detached fibers are left: cancel them and drain
        cancel_everything();
      }
    }
    if (ready_.empty()) {
      wait_for_events();
      just_waited = true;
      continue;
    }
    if (!just_waited && reactor_.waiters() > 0) reactor_.poll(clock::duration::zero());
    just_waited = false;
    // Fibers among them switch directly to whatever is ready next (dispatch_budget), tasks
    // are resumed here, on the loop's stack.
    const unsigned batch = std::max(options_.dispatch_batch, 1U);
    for (unsigned n = 0; n < batch && !ready_.empty(); ++n) {
      if (n > 0) loop_now_ = clock::now();  // the watchdog stamps each dispatch
      run_one(ready_.pop());
    }
  }
  stop_accepting_posts();
}

void scheduler::run_one(runnable* r) {
  budget_ = options_.dispatch_budget;
  watch.turn_started_ns.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(loop_now_.time_since_epoch()).count(),
      std::memory_order_relaxed);
  watch.count_switch();
  dispatch(r);
  watch.turn_started_ns.store(0, std::memory_order_relaxed);
}

void scheduler::stop_accepting_posts() noexcept {
  // Refuse new senders, then wait for those counted in to finish (each is a few instructions
  // from its last touch, unless its thread was preempted there).
  remote_users_.fetch_or(remote_closed, std::memory_order_acq_rel);
  while ((remote_users_.load(std::memory_order_acquire) >> 1) != 0) ::sched_yield();
  // What was sent but never ran is dropped here (a fiber another shard spawned on us learns
  // through its join that it never started). Every push is complete: none is half done.
  while (remote_node* n = remote_.pop()) n->remote_fn(*n, false);
}

// --- host-driven loops (balrog/event_loop.hpp) ----------------------------------------------

void scheduler::run_turn(clock::duration max_wait) {
  drain_remote();
  loop_now_ = clock::now();
  if (!timers_.empty()) timers_.fire_due(loop_now_);
  if (ready_.empty() && max_wait != clock::duration::zero()) {
    wait_for_events(max_wait, /*host_turn=*/true);
    drain_remote();
    loop_now_ = clock::now();
    if (!timers_.empty()) timers_.fire_due(loop_now_);
  } else if (reactor_.waiters() > 0) {
    reactor_.poll(clock::duration::zero());
  }
  // Only what is ready now: what these wake goes to ready_ and waits for the next turn (the
  // fibers among them may still be switched to directly, within the dispatch budget).
  ready_queue batch;
  batch.splice(ready_);
  while (!batch.empty()) run_one(batch.pop());
}

void scheduler::shut_down() {
  shutting_down_ = true;
  cancel_everything();
  while (live_ > 0) run_turn(clock::duration(-1));
  stop_accepting_posts();
}

void scheduler::leave_thread() noexcept { current_ = nullptr; }

void scheduler::return_to_thread() {
  if (current_ != nullptr) throw_nested_run();
  // run() left everything finished and the remote queue drained and closed. Reopen it by
  // clearing the bit only: a sender refused meanwhile (dump_fibers' post) may still be
  // taking its count back.
  remote_users_.fetch_and(~remote_closed, std::memory_order_acq_rel);
  remote_pending_.store(false, std::memory_order_relaxed);
  stop_requested_.store(false, std::memory_order_relaxed);
  shutting_down_ = false;
  current_ = this;
}

void scheduler::forget_after_fork() noexcept {
  // The registry's other entries are the parent's threads, which do not exist here either;
  // only this thread's own entry matters to a scheduler the child makes next.
  unregister_scheduler(*this);
  reactor_.close_after_fork();
  current_ = nullptr;
}

}  // namespace balrog::detail
