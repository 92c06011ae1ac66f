// The bridges between fibers and coroutines (balrog/await.hpp, balrog/task.hpp).
#include <mutex>
#include <utility>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/task.hpp"
#include "core/coro/task_context.hpp"
#include "core/fiber/fiber_context.hpp"
#include "core/shard/scheduler.hpp"

namespace balrog::detail {

namespace {

void resume_counted(execution_context& self, std::coroutine_handle<> h) {
  ++self.coroutine_depth;
  struct leave {
    execution_context& c;
    ~leave() { --c.coroutine_depth; }
  } guard{self};
  h.resume();
}

void wake_driver(void* ctx) noexcept {
  static_cast<execution_context*>(ctx)->try_wake(wake_reason::notified);
}

// A task's driver completed while the loop had parked it (a foreign awaitable resumed the
// chain elsewhere): tell the loop. The task stays alive until task_completed runs: nobody else
// completes it once it parked.
void complete_here(remote_node& n, bool run) {
  auto* t = static_cast<task_context*>(static_cast<joinable_context::context_node&>(n).owner);
  if (run) t->sched.task_completed(*t);
  release(t);
}

void task_done(void* arg) noexcept {
  auto* t = static_cast<task_context*>(arg);
  scheduler& s = t->sched;
  retain(t);  // the node's
  t->done_node.remote_fn = &complete_here;
  if (!s.send(t->done_node)) release(t);
}

// A chain that came home, on its context's loop.
void resume_here(remote_node& n, bool run) {
  joinable_context* j = static_cast<joinable_context::context_node&>(n).owner;
  if (run) j->sched.resume_home(*j, std::exchange(j->home_resume, {}));
}

}  // namespace

await_place where_to_await() {
  execution_context& self = current_context();
  if (const misuse_place m = misuse_here(self); m != misuse_place::none) {
    throw_misuse(m, "balrog::await");
  }
  if (self.is_fiber()) return await_place::this_context;
  return await_place::private_scheduler;
}

void drive_here(std::coroutine_handle<> start, driver_state& state) {
  execution_context& self = current_context();
  state.on_done = &wake_driver;
  state.on_done_arg = &self;
  resume_counted(self, start);
  for (;;) {
    if (const std::coroutine_handle<> h = std::exchange(self.pending_resume, {})) {
      // A balrog awaitable ran steps 1-2 of the wait protocol; we do step 3 for it.
      self.last_wake = self.wait(self.pending_deadline);
      state.unpark();
      resume_counted(self, h);
      continue;
    }
    // Completed, or suspended on an awaitable foreign to balrog: whoever completes it resumes
    // the chain (maybe on another thread) and the driver's completion wakes us. We cannot
    // interrupt that wait, and must not leave before the completer's last touch: the chain may
    // use objects on our stack, and a late wake would land on our next, unrelated wait.
    uninterruptible guard(self);
    self.prepare_wait();
    if (!state.park()) {
      // Completed without seeing us parked: it will not wake us, so the claim is ours.
      if (!self.withdraw_wait()) self.wait(deadline::never());
      return;
    }
    self.wait(deadline::never());  // claimed by complete(), or by a homecoming
    if (const std::coroutine_handle<> h = std::exchange(self.homecoming, {})) {
      state.unpark();
      resume_counted(self, h);
      continue;
    }
    return;
  }
}

std::coroutine_handle<> come_home(execution_context* home, std::coroutine_handle<> cont) noexcept {
  if (&current_context() == home) return cont;  // already home: go on here
  auto* j = dynamic_cast<joinable_context*>(home);
  if (j == nullptr) return cont;  // a plain thread's own context has no runner to go back to
  // The runner waits for this post (uninterruptibly), so the context and its scheduler live.
  j->home_resume = cont;
  j->home_node.remote_fn = &resume_here;
  if (!j->sched.send(j->home_node)) return std::exchange(j->home_resume, {});
  return std::noop_coroutine();
}

joinable_context* start_task(std::coroutine_handle<> driver, fiber_task* outcome,
                             driver_state& state, fiber_options options) {
  scheduler* s = scheduler::current();
  if (s == nullptr) {
    throw usage_error(
        "balrog::spawn_task: no balrog scheduler runs on this thread; start tasks from code "
        "running inside balrog::run");
  }
  auto* t = new task_context(*s, std::move(options.name), s->new_id(), driver, outcome, state);
  state.on_done = &task_done;
  state.on_done_arg = t;
  retain(t);  // the handle's reference
  s->start(*t);
  return t;
}

bool finish_awaiter::await_ready() const { return finished(j_); }

bool finish_awaiter::await_suspend(std::coroutine_handle<> h) {
  execution_context& self = current_context();
  waiter_.emplace(self);
  {
    std::lock_guard lk(j_->join_lock);
    if (j_->enter_locked()) {
      waiter_.reset();
      return false;
    }
    self.prepare_wait();
    j_->joiners.push_back(*waiter_);
  }
  self.waiting_on = "join";
  self.suspend_coroutine(h, deadline::never());
  return true;
}

void finish_awaiter::await_resume() {
  if (!waiter_) return;  // finished without suspending
  execution_context& self = *waiter_->ctx;
  self.waiting_on = nullptr;
  {
    std::lock_guard lk(j_->join_lock);
    if (waiter_->linked) j_->joiners.erase(*waiter_);
  }
  waiter_.reset();
  throw_if_failed(self.last_wake);
}

}  // namespace balrog::detail
