#include "balrog/this_fiber.hpp"

#include <ostream>
#include <thread>

#include "balrog/errors.hpp"
#include "core/shard/scheduler.hpp"

namespace balrog {

std::ostream& operator<<(std::ostream& os, fiber_id id) { return os << "fiber#" << id.value(); }

namespace this_fiber {

namespace {

detail::fiber_context* running_fiber() noexcept {
  detail::scheduler* s = detail::scheduler::current();
  return s != nullptr ? s->running() : nullptr;
}

}  // namespace

namespace {

// yield() when the running fiber has something to check first (or there is none): coroutine
// misuse, a pending cancellation, an enclosing deadline. Out of line, so the common case makes
// no call before its switch and keeps its registers to itself.
[[gnu::noinline]] void checked_yield(detail::scheduler* s, detail::fiber_context* f) {
  if (f == nullptr) {
    // O in the runtime review: a yield inside coroutine code (a task on the loop) would yield
    // the loop thread: misuse, diagnosed like every other blocking call there.
    detail::refuse_in_coroutine(detail::current_context(), "this_fiber::yield()");
    std::this_thread::yield();
    return;
  }
  // A yield inside a chain under balrog::await would yield the whole awaiting fiber (O).
  detail::refuse_in_coroutine(*f, "this_fiber::yield()");
  // yield is a suspension point: it honours cancellation and deadlines like the others.
  if (f->cancel_pending()) throw cancelled();
  if (f->scope_deadline.expired()) throw timeout_error();
  s->yield();
}

}  // namespace

void yield() {
  detail::scheduler* s = detail::scheduler::current();
  detail::fiber_context* f = s != nullptr ? s->running() : nullptr;
  // The fast path: a fiber (the current context, current_context()) with no cancellation
  // requested and no enclosing deadline; the switch is inline (scheduler.hpp) and, with the
  // owned switch, the last call here, so the fiber switched to continues in its own caller.
  if (f == nullptr || f->in_coroutine_code() || f->cancel_requested() ||
      !f->scope_deadline.is_never()) [[unlikely]] {
    checked_yield(s, f);
    return;
  }
  s->yield();
}

void sleep_until(clock::time_point until) {
  if (until <= clock::now()) {
    yield();
    return;
  }
  detail::execution_context& ctx = detail::current_context();
  ctx.prepare_wait();
  ctx.waiting_on = "sleep";
  const detail::wake_reason why = ctx.wait(until);
  ctx.waiting_on = nullptr;
  detail::throw_if_failed(why);
}

fiber_id id() noexcept {
  detail::fiber_context* f = running_fiber();
  return f != nullptr ? fiber_id(f->id) : fiber_id{};
}

std::string_view name() noexcept {
  detail::fiber_context* f = running_fiber();
  return f != nullptr ? f->name() : std::string_view{};
}

bool cancellation_requested() noexcept { return detail::current_context().cancel_requested(); }

cancellation_shield::cancellation_shield() noexcept { detail::current_context().enter_shield(); }
cancellation_shield::~cancellation_shield() { detail::current_context().leave_shield(); }

}  // namespace this_fiber
}  // namespace balrog
