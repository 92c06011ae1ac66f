// The operations behind fiber<T> (balrog/fiber.hpp) and the fiber lifecycle's end.
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/this_fiber.hpp"
#include "core/fiber_context.hpp"
#include "core/fiber_lifecycle.hpp"
#include "core/scheduler.hpp"

namespace balrog::detail {

namespace {

// Describes an exception that ended a fiber; empty for balrog::cancelled, which is how
// cancelled fibers are expected to end.
std::string describe_failure(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const cancelled&) {
    return {};
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

void report(const fiber_context& f, const char* how, const std::string& what) {
  std::fprintf(stderr, "balrog: fiber '%s' (#%llu) %s: %s\n", f.name.c_str(),
               static_cast<unsigned long long>(f.id), how, what.c_str());
}

void terminate_if_unhandled(const fiber_context& f) noexcept {
  const std::string what = describe_failure(f.task.failure());
  if (what.empty()) return;
  report(f, "was detached and ended with an unhandled exception", what);
  std::terminate();
}

}  // namespace

void finish_fiber(fiber_context& f) noexcept {
  std::uint32_t old = 0;
  {
    std::lock_guard lk(f.join_lock);
    old = f.flags.fetch_or(fiber_context::flag_finished, std::memory_order_acq_rel);
    f.joiners.wake_all();
  }
  if ((old & fiber_context::flag_detached) != 0) {
    terminate_if_unhandled(f);
  } else {
    f.sched.release_attachment();
  }
}

fiber_context* spawn_fiber(std::unique_ptr<fiber_task> task, fiber_options options) {
  scheduler* s = scheduler::current();
  if (s == nullptr) {
    throw usage_error(
        "balrog::spawn: no balrog scheduler runs on this thread; spawn fibers from code running "
        "inside balrog::run");
  }
  fiber_task& t = *task;
  fiber_context* f = s->spawn(std::move(task), t, std::move(options));
  retain(f);  // the handle's reference
  return f;
}

void retain(fiber_context* f) noexcept { f->refs.fetch_add(1, std::memory_order_relaxed); }

void release(fiber_context* f) noexcept {
  if (f->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete f;
}

bool finished(fiber_context* f) noexcept {
  return (f->flags.load(std::memory_order_acquire) & fiber_context::flag_finished) != 0;
}

void join(fiber_context* f) {
  execution_context& self = current_context();
  if (&self == f) throw usage_error("balrog::fiber::join: a fiber cannot join itself");
  std::unique_lock lk(f->join_lock);
  while (!finished(f)) {
    waiter w(self);
    throw_if_failed(park_on(f->joiners, w, lk, deadline::never(), "join"));
  }
}

void detach(fiber_context* f) noexcept {
  const std::uint32_t old =
      f->flags.fetch_or(fiber_context::flag_detached, std::memory_order_acq_rel);
  if ((old & fiber_context::flag_finished) != 0) {
    terminate_if_unhandled(*f);  // it already ended; nobody will observe how
  } else {
    f->sched.release_attachment();
  }
}

void cancel(fiber_context* f) noexcept {
  if (scheduler::current() == &f->sched) {
    f->request_cancel();
    return;
  }
  // Another thread: hand the request to the fiber's own scheduler, so it never races the
  // fiber's cancellation shields. join_lock keeps the fiber (and its scheduler) from finishing
  // until the request is posted.
  std::lock_guard lk(f->join_lock);
  if (finished(f)) return;
  retain(f);
  if (!f->sched.post([f] {
        f->request_cancel();
        release(f);
      })) {
    release(f);
  }
}

void cancel_and_join(fiber_context* f, const fiber_task& task) noexcept {
  if (!finished(f)) {
    cancel(f);
    try {
      this_fiber::cancellation_shield shield;  // we must wait even if we are being cancelled
      join(f);
    } catch (const timeout_error&) {
      // An enclosing deadline passed first. The fiber is cancelled and will unwind on its own;
      // balrog::run waits for it as it waits for detached fibers.
      detach(f);
      return;
    } catch (...) {
      std::terminate();  // join only throws the two above, and the shield stops cancelled
    }
  }
  const std::string what = describe_failure(task.failure());
  if (!what.empty()) report(*f, "ended with an exception nobody joined", what);
}

fiber_id id_of(const fiber_context* f) noexcept { return fiber_id(f->id); }

std::string_view name_of(const fiber_context* f) noexcept { return f->name; }

void throw_empty_handle(const char* operation) {
  throw usage_error(std::string("balrog::fiber::") + operation +
                    ": the handle owns no fiber (it was joined, detached or moved from)");
}

}  // namespace balrog::detail
