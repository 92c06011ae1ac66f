#include "core/scheduler.hpp"

#include <atomic>
#include <chrono>
#include <iostream>
#include <utility>

#include "balrog/errors.hpp"
#include "core/fiber_lifecycle.hpp"
#include "core/sanitizer.hpp"
#include "stack/stack_source.hpp"

namespace balrog::detail {

namespace {

thread_local scheduler* current_scheduler = nullptr;
std::atomic<std::uint64_t> next_fiber_id{1};

}  // namespace

scheduler* scheduler::current() noexcept { return current_scheduler; }

scheduler::scheduler() : exceptions_(thread_exception_state()) {
  if (current_scheduler != nullptr) {
    throw usage_error(
        "balrog::run: this thread already runs a balrog scheduler (balrog::run cannot nest)");
  }
  current_scheduler = this;
}

scheduler::~scheduler() {
  current_scheduler = nullptr;
  // Tasks posted after the loop stopped hold references to fibers; dropping them releases.
  std::vector<std::function<void()>> leftovers;
  {
    std::lock_guard lk(remote_mutex_);
    accepting_posts_ = false;
    leftovers.swap(remote_tasks_);
  }
}

fiber_context* scheduler::spawn(std::unique_ptr<fiber_task> owned, fiber_task& task,
                                fiber_options options) {
  const std::uint64_t id = next_fiber_id.fetch_add(1, std::memory_order_relaxed);
  const stack_kind kind = options.stack;
  const std::size_t size = normalized_stack_size(kind, options.stack_size);
  auto ctx = std::make_unique<fiber_context>(*this, std::move(owned), task, std::move(options), id);
  fiber_context* f = ctx.get();
  stack_source& source = stacks_.get(kind, size);
  f->frame.continuation =
      boost::context::fiber(std::allocator_arg, pool_stack_allocator(source, f->stack),
                            [f](boost::context::fiber&& from) -> boost::context::fiber {
                              scheduler& s = f->sched;
                              s.fiber_entered(std::move(from));
                              f->task.run();
                              return s.fiber_exiting(*f);
                            });
  f->frame.stack_bottom = f->stack.lowest;
  f->frame.stack_size = f->stack.size;
  f->overflow = {f->stack.lowest, f->stack.size, f->name.c_str(), f->id};
  ctx.release();  // from here the reference count owns it
  link(*f);
  ++live_;
  attached_.fetch_add(1, std::memory_order_relaxed);
  if (shutting_down_) f->request_cancel();  // spawned while run() drains: cancel at once
  ready_.push(f);
  return f;
}

void scheduler::link(fiber_context& f) noexcept {
  f.all_next = all_head_;
  if (all_head_ != nullptr) all_head_->all_prev = &f;
  all_head_ = &f;
}

void scheduler::unlink(fiber_context& f) noexcept {
  (f.all_prev ? f.all_prev->all_next : all_head_) = f.all_next;
  if (f.all_next != nullptr) f.all_next->all_prev = f.all_prev;
  f.all_prev = f.all_next = nullptr;
}

// --- switching ---------------------------------------------------------------------------

fiber_context* scheduler::next_ready() noexcept {
  if (budget_ > 0 && !ready_.empty()) {
    --budget_;
    return ready_.pop();
  }
  return nullptr;  // the loop
}

void scheduler::check_canary(const fiber_context& leaving) const noexcept {
  const std::uint64_t* canary = leaving.stack.canary;
  if (canary != nullptr && *canary != dense_canary) report_dense_overflow(leaving.overflow);
}

void scheduler::switch_to(switch_frame& from, fiber_context* next) {
  if (running_ != nullptr) check_canary(*running_);
  switch_frame& to = frame_of(next);
  running_ = next;
  set_running_overflow_facts(next ? &next->overflow : nullptr);
  from.exceptions = *exceptions_;
  *exceptions_ = to.exceptions;
  switching_from_ = &from;
  sanitizer::start_switch(&from.fake_stack, to.stack_bottom, to.stack_size);
  boost::context::fiber c = std::move(to.continuation).resume();
  // Back on `from`'s stack, resumed by whoever switching_from_ now names (null: it ended).
  if (switching_from_ != nullptr) {
    sanitizer::finish_switch(from.fake_stack, &switching_from_->stack_bottom,
                             &switching_from_->stack_size);
    switching_from_->continuation = std::move(c);
  } else {
    sanitizer::finish_switch(from.fake_stack, nullptr, nullptr);
  }
}

void scheduler::fiber_entered(boost::context::fiber&& from) noexcept {
  if (switching_from_ != nullptr) {
    sanitizer::finish_switch(nullptr, &switching_from_->stack_bottom, &switching_from_->stack_size);
    switching_from_->continuation = std::move(from);
  } else {
    sanitizer::finish_switch(nullptr, nullptr, nullptr);
  }
}

void scheduler::yield() {
  fiber_context* self = running_;
  ready_.push(self);
  fiber_context* next = next_ready();
  if (next == self) return;  // nobody else is ready and the loop need not run yet
  switch_to(self->frame, next);
}

void scheduler::suspend() {
  fiber_context* self = running_;
  switch_to(self->frame, next_ready());
}

boost::context::fiber scheduler::fiber_exiting(fiber_context& f) noexcept {
  check_canary(f);
  finish_fiber(f);  // outcome published, joiners woken, accounting done
  unlink(f);
  --live_;
  fiber_context* next = next_ready();
  switch_frame& to = frame_of(next);
  running_ = next;
  set_running_overflow_facts(next ? &next->overflow : nullptr);
  *exceptions_ = to.exceptions;
  switching_from_ = nullptr;  // this frame is about to disappear
  release(&f);                // the scheduler's reference; may delete f
  sanitizer::start_switch(nullptr, to.stack_bottom, to.stack_size);
  // Boost unwinds to the fiber's entry and frees its stack on top of `to`.
  return std::move(to.continuation);
}

// --- wake-ups ----------------------------------------------------------------------------

void scheduler::schedule(fiber_context& f) noexcept {
  if (current_scheduler == this) {
    ready_.push(&f);
    return;
  }
  {
    std::lock_guard lk(remote_mutex_);
    remote_ready_.push(&f);
  }
  remote_pending_.store(true, std::memory_order_seq_cst);
  if (sleeping_.exchange(false, std::memory_order_seq_cst)) reactor_.interrupt();
}

bool scheduler::post(std::function<void()> task) {
  {
    std::lock_guard lk(remote_mutex_);
    if (!accepting_posts_) return false;
    remote_tasks_.push_back(std::move(task));
  }
  remote_pending_.store(true, std::memory_order_seq_cst);
  if (sleeping_.exchange(false, std::memory_order_seq_cst)) reactor_.interrupt();
  return true;
}

void scheduler::release_attachment() noexcept {
  if (attached_.fetch_sub(1, std::memory_order_acq_rel) == 1 && current_scheduler != this) {
    // The loop may be asleep waiting for this very fiber: let it re-check.
    remote_pending_.store(true, std::memory_order_seq_cst);
    if (sleeping_.exchange(false, std::memory_order_seq_cst)) reactor_.interrupt();
  }
}

void scheduler::drain_remote() {
  if (!remote_pending_.load(std::memory_order_acquire)) return;
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lk(remote_mutex_);
    remote_pending_.store(false, std::memory_order_relaxed);
    ready_.splice(remote_ready_);
    tasks.swap(remote_tasks_);
  }
  for (auto& t : tasks) t();
}

// --- the loop ----------------------------------------------------------------------------

void scheduler::wait_for_events() {
  clock::duration timeout = clock::duration(-1);  // forever
  if (!timers_.empty()) {
    timeout = std::max(clock::duration::zero(), timers_.next() - clock::now());
  }
  sleeping_.store(true, std::memory_order_seq_cst);
  if (remote_pending_.load(std::memory_order_seq_cst)) {
    sleeping_.store(false, std::memory_order_relaxed);
    return;
  }
  reactor_.poll(timeout);
  sleeping_.store(false, std::memory_order_relaxed);
}

void scheduler::cancel_everything() noexcept {
  for_each_fiber([](fiber_context& f) { f.request_cancel(); });
}

void scheduler::run(fiber_context& main) {
  (void)main;  // main is just the first attached fiber; run() waits for all of them
  for (;;) {
    drain_remote();
    if (!timers_.empty()) timers_.fire_due(clock::now());
    if (attached_.load(std::memory_order_acquire) == 0) {
      if (live_ == 0) break;
      if (!shutting_down_) {
        shutting_down_ = true;  // only detached fibers are left: cancel them and drain
        cancel_everything();
      }
    }
    if (ready_.empty()) {
      wait_for_events();
      continue;
    }
    if (reactor_.waiters() > 0) reactor_.poll(clock::duration::zero());
    budget_ = dispatch_budget;
    switch_to(loop_frame_, ready_.pop());
  }
}

}  // namespace balrog::detail
