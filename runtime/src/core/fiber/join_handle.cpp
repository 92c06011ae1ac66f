// The operations behind fiber<T> and task_handle<T> (balrog/fiber.hpp), and spawning fibers.
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/this_fiber.hpp"
#include "core/fiber/fiber_context.hpp"
#include "core/shard/scheduler.hpp"

namespace balrog::detail {

fiber_slot prepare_fiber(std::size_t task_size, std::size_t task_align, fiber_options&& options) {
  scheduler* s = scheduler::current();
  if (s == nullptr) {
    throw usage_error(
        "balrog::spawn: no balrog scheduler runs on this thread; spawn fibers from code running "
        "inside balrog::run");
  }
  fiber_context* f = s->create_fiber(task_size, task_align, std::move(options));
  return {f, reinterpret_cast<char*>(f) + fiber_context::task_offset(task_align)};
}

namespace {

// The adoption of a fiber spawned on another shard: the fiber context is the node sent to the
// target shard's loop, which gives it a stack and queues it. If the shard stopped before
// running it, the fiber is failed instead, so its joiners learn why.
void adopt_or_fail(remote_node& n, bool run) {
  auto& f = static_cast<fiber_context&>(static_cast<runnable&>(n));
  if (run) {
    f.sched.adopt(f);
    return;
  }
  f.task->fail(std::make_exception_ptr(usage_error("balrog::spawn_on: shard " +
                                                   std::to_string(f.sched.shard_index) +
                                                   " stopped before the fiber could start")));
  f.flags.fetch_or(joinable_context::flag_finished, std::memory_order_acq_rel);
  std::unique_lock lk(f.join_lock);
  wake_all_unlocked(f.joiners, lk);
  release(&f);  // the scheduler's reference
}

// A cancel from another thread, run on the owner's loop.
void cancel_here(remote_node& n, bool run) {
  joinable_context* j = static_cast<joinable_context::context_node&>(n).owner;
  if (run) j->request_cancel();
  release(j);
}

}  // namespace

void start_fiber(joinable_context* ctx, fiber_task* task) noexcept {
  auto* f = static_cast<fiber_context*>(ctx);
  f->task = task;
  f->owns_task = true;
  // The scheduler's reference and the handle's. Nobody else has seen the context yet: a plain
  // store, not an atomic increment.
  f->refs.store(2, std::memory_order_relaxed);
  scheduler& target = f->sched;
  if (scheduler::current() == &target) {
    target.start(*f);
    return;
  }
  target.expect_remote_fiber();
  f->remote_fn = &adopt_or_fail;
  if (!target.send(*f)) {
    adopt_or_fail(*f, false);
    target.release_attachment();
  }
}

void abandon_fiber(joinable_context* ctx) noexcept {
  auto* f = static_cast<fiber_context*>(ctx);
  // Never started: its stack (attached on the owner's thread, spawn's only caller here) goes
  // back to its pool.
  if (stack_source* owner = std::exchange(f->stack_owner, nullptr)) {
    owner->deallocate(f->stack_memory);
  }
  f->destroy();
}

bool finished(joinable_context* j) noexcept {
  return (j->flags.load(std::memory_order_acquire) & joinable_context::flag_finished) != 0;
}

namespace {

// The lock of an owner-thread join (below): nothing to exclude.
struct no_lock {
  void lock() noexcept {}
  void unlock() noexcept {}
};

[[noreturn]] void throw_self_join() {
  throw usage_error("balrog::fiber::join: a fiber cannot join itself");
}

}  // namespace

void join(joinable_context* j) {
  scheduler* const s = scheduler::current();
  if (fiber_context* const self = s != nullptr ? s->running() : nullptr; s == &j->sched && self) {
    if (self == j) throw_self_join();
    // The owner-thread fast path: a fiber joining a fiber of its own shard. `j` finishes on
    // this thread (finish() and the failed adoption run on its loop), and its joiners are
    // touched only by the one handle's holder, here: join_lock (which other threads take only
    // to read the finished flag, in cancel()) has nothing to exclude. Nor does finish() take
    // it, unless someone came under the lock (flag_locked): it wakes us with plain stores.
    no_lock nl;
    while (!finished(j)) {
      waiter w(*self);
      const wake_reason why = park_on(j->joiners, w, nl, deadline::never(), "join");
      if (why != wake_reason::notified) throw_if_failed(why);
    }
    return;
  }
  execution_context& self = current_context();
  if (&self == j) throw_self_join();
  std::unique_lock lk(j->join_lock);
  if (j->enter_locked()) return;
  while (!finished(j)) {
    waiter w(self);
    throw_if_failed(park_on(j->joiners, w, lk, deadline::never(), "join"));
  }
}

void detach(joinable_context* j) noexcept {
  const std::uint32_t old =
      j->flags.fetch_or(joinable_context::flag_detached, std::memory_order_acq_rel);
  if ((old & joinable_context::flag_finished) != 0) {
    terminate_if_unobserved(*j);  // it already ended; nobody will observe how
  } else {
    j->sched.release_attachment();
  }
}

void cancel(joinable_context* j) noexcept {
  if (scheduler::current() == &j->sched) {
    j->request_cancel();
    return;
  }
  // Another thread: hand the request to the owner's scheduler, so it never races the
  // cancellation shields. join_lock keeps it (and its scheduler) from finishing until we are
  // counted in as a sender; the push and the loop's wake-up happen after the unlock (S in the
  // runtime review). Sent once: cancellation is sticky, so a second request adds nothing.
  std::unique_lock lk(j->join_lock);
  if (j->enter_locked() || j->cancel_sent.exchange(true, std::memory_order_acq_rel)) return;
  if (!j->sched.enter_remote()) return;
  retain(j);  // the node's
  j->cancel_node.remote_fn = &cancel_here;
  lk.unlock();
  j->sched.push_and_leave(j->cancel_node);
}

namespace {

// True where a blocking join cannot happen: coroutine code (a wait there is refused as misuse)
// and the scheduler's loop itself (a futex wait there would stall every fiber of the shard).
bool cannot_block_here() noexcept { return misuse_here(current_context()) != misuse_place::none; }

// Lets a dropped handle's fiber run on unobserved. Unlike detach(), an exception it ends with
// is reported, as a dropped handle's would be, instead of ending the process.
void drop(joinable_context* j) noexcept {
  const std::uint32_t old = j->flags.fetch_or(
      joinable_context::flag_detached | joinable_context::flag_dropped, std::memory_order_acq_rel);
  if ((old & joinable_context::flag_finished) != 0) {
    report_if_unobserved(*j);
  } else {
    j->sched.release_attachment();
  }
}

}  // namespace

void cancel_and_join(joinable_context* j) noexcept {
  if (!finished(j)) {
    cancel(j);
    if (cannot_block_here()) {
      // A handle dropped in coroutine code or on the loop (C in the runtime review): cancel
      // and let it go; balrog::run waits for it to unwind, as for detached fibers.
      drop(j);
      return;
    }
    try {
      this_fiber::cancellation_shield shield;  // we must wait even if we are being cancelled
      join(j);
    } catch (const timeout_error&) {
      // An enclosing deadline passed first. It is cancelled and will unwind on its own;
      // balrog::run waits for it as it waits for detached fibers.
      drop(j);
      return;
    } catch (...) {
      std::terminate();  // join only throws the two above, and the shield stops cancelled
    }
  }
  report_if_unobserved(*j);
}

fiber_id id_of(const joinable_context* j) noexcept { return fiber_id(j->id); }

std::string_view name_of(const joinable_context* j) noexcept { return j->name(); }

void throw_empty_handle(const char* operation) {
  throw usage_error(std::string("balrog::fiber::") + operation +
                    ": the handle owns no fiber (it was joined, detached or moved from)");
}

}  // namespace balrog::detail
