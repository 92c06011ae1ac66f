#include "io/fd_waits.hpp"

#include <cerrno>

#include "balrog/errors.hpp"
#include "core/shard/scheduler.hpp"
#include "reactor/describe_call.hpp"
#include "reactor/timeouts.hpp"

namespace balrog::detail {

namespace {

const char* what_it_waits_on(fd_interest interest) noexcept {
  switch (interest) {
    case fd_interest::read:
      return "fd-read";
    case fd_interest::write:
      return "fd-write";
    case fd_interest::read_or_write:
      break;
  }
  return "fd-read-or-write";
}

short poll_events(fd_interest interest) noexcept {
  switch (interest) {
    case fd_interest::read:
      return POLLIN;
    case fd_interest::write:
      return POLLOUT;
    case fd_interest::read_or_write:
      break;
  }
  return POLLIN | POLLOUT;
}

// What the reactor saw for the wait (either direction's node).
std::uint32_t revents_of(const fd_wait_state& st) noexcept {
  return st.node.revents | (st.either ? st.writer->revents : 0);
}

// Step 1 when the deadline has passed: look. Out of line, like everything wait_for_fd does off
// its fiber path: the frame a parked fiber keeps on its stack stays small.
[[gnu::noinline]] fd_wait_outcome look_now(int fd, fd_interest interest,
                                           wake_reason on_timeout) noexcept {
  if (const short r = poll_now(fd, poll_events(interest))) {
    return fd_wait_outcome{wake_reason::notified, static_cast<std::uint16_t>(r)};
  }
  return fd_wait_outcome{on_timeout, 0};  // as the wait would have decided
}

// Step 1: the earlier of `until` and the scope's deadline has passed. nullopt: it has not.
std::optional<fd_wait_outcome> look_if_past(const execution_context& ctx, int fd,
                                            fd_interest interest, deadline until) noexcept {
  const execution_context::wait_bound b = ctx.bound_of(until);
  if (!b.until.expired()) return std::nullopt;
  return look_now(fd, interest, b.on_timeout);
}

void unpublish(fd_wait_state& st, reactor* r) noexcept {
  if (r != nullptr) {
    r->remove(st.node);
    if (st.either) r->remove(*st.writer);
  }
  if (st.owner_listed) {
    st.owner->remove_waiter(st.owner_node);
    st.owner_listed = false;
  }
}

// Steps 2-3. True: queued, go on waiting. False: nothing to wait for (revents_of(st) says
// why: ready, or closed), nothing left published; the caller takes its claim back (step 4).
bool publish(fd_wait_state& st, reactor& r) {
  execution_context& ctx = *st.node.ctx;
  ctx.prepare_wait();
  if (st.owner != nullptr) {
    // The owner's list and the reactor in one step (one lock): a close() on another thread
    // either came first (the owner's fd changed: nothing published) or finds the wait listed.
    bool queued = false;
    try {
      queued = st.owner->publish(st.owner_node, r, st.node, st.either ? &*st.writer : nullptr);
    } catch (...) {
      // nothing published: nobody can have claimed the context
      if (!ctx.withdraw_wait()) (void)ctx.wait(deadline::never());
      throw;
    }
    st.owner_listed = queued;  // not listed: no remove_waiter
    return queued;
  }
  bool queued = false;
  try {
    queued = r.add(st.node) == reactor::queued::waiting &&
             (!st.either || r.add(*st.writer) == reactor::queued::waiting);
  } catch (...) {
    unpublish(st, &r);
    if (!ctx.withdraw_wait()) (void)ctx.wait(deadline::never());  // absorb a close's wake-up
    throw;
  }
  if (!queued) unpublish(st, &r);
  return queued;
}

// Sync mode: block the thread in poll(2) until ready or `until`. Out of line (look_now).
[[gnu::noinline]] fd_wait_outcome poll_for_fd(execution_context& ctx, int fd, fd_interest interest,
                                              deadline until, fd_owner* owner) {
  std::optional<owner_waiter> node;
  if (owner != nullptr) {
    node.emplace(ctx, /*polls=*/true);
    if (!owner->add_waiter(*node, fd)) return {wake_reason::notified, fd_closed_event};
  }
  struct leave {
    fd_owner* owner;
    std::optional<owner_waiter>& node;
    ~leave() {
      if (node) owner->remove_waiter(*node);
    }
  } guard{owner, node};
  const execution_context::wait_bound b = ctx.bound_of(until);
  pollfd p{fd, poll_events(interest), 0};
  for (;;) {
    const int n = ::poll(&p, 1, poll_timeout_ms(b.until));
    if (n > 0) return {wake_reason::notified, static_cast<std::uint16_t>(p.revents)};
    if (n < 0 && errno != EINTR) throw_errno(describe_call("balrog: poll", fd));
    if (n == 0 && b.until.expired()) return {b.on_timeout, 0};
  }
}

}  // namespace

reactor* current_reactor() noexcept {
  scheduler* s = scheduler::current();
  return s != nullptr ? &s->io() : nullptr;
}

fd_wait_outcome wait_for_fd(execution_context& ctx, int fd, fd_interest interest, deadline until,
                            fd_owner* owner) {
  scheduler* s = scheduler::current();
  if (!ctx.is_fiber()) {
    // A coroutine task, or the scheduler's loop: blocking here would stall the whole shard.
    if (misuse_here(ctx) != misuse_place::none) return {wake_reason::misuse, 0};
    return poll_for_fd(ctx, fd, interest, until, owner);
  }
  if (auto past = look_if_past(ctx, fd, interest, until)) return *past;
  fd_wait_state st(ctx, fd, interest, owner);
  if (!publish(st, s->io())) {
    if (!ctx.withdraw_wait()) (void)ctx.wait(deadline::never());  // absorb a close's wake-up
    return {wake_reason::notified, revents_of(st)};
  }
  ctx.waiting_on = what_it_waits_on(interest);
  const wake_reason why = ctx.wait(until);
  ctx.waiting_on = nullptr;
  unpublish(st, &s->io());
  return {why, revents_of(st)};
}

bool start_coroutine_wait(fd_wait_state& st, std::coroutine_handle<> h, deadline until,
                          fd_wait_outcome& out) {
  execution_context& ctx = *st.node.ctx;
  if (auto past = look_if_past(ctx, st.node.fd, st.interest(), until)) {
    out = *past;
    return false;
  }
  if (!publish(st, scheduler::current()->io())) {
    out = {wake_reason::notified, revents_of(st)};
    if (ctx.withdraw_wait()) return false;
    // A close() on another thread claimed us first: its wake-up resumes the coroutine.
    ctx.suspend_coroutine(h, deadline::never());
    return true;
  }
  ctx.waiting_on = what_it_waits_on(st.interest());
  ctx.suspend_coroutine(h, until);
  return true;
}

fd_wait_outcome finish_coroutine_wait(fd_wait_state& st) noexcept {
  execution_context& ctx = *st.node.ctx;
  ctx.waiting_on = nullptr;
  scheduler* s = scheduler::current();
  unpublish(st, s != nullptr ? &s->io() : nullptr);
  return {ctx.last_wake, revents_of(st)};
}

bool suspend_on_fd(std::optional<fd_wait_state>& wait, int fd, fd_interest interest,
                   fd_owner* owner, std::coroutine_handle<> h, deadline until,
                   fd_wait_outcome& out) {
  wait.emplace(current_context(), fd, interest, owner);
  bool suspended = false;
  try {
    suspended = start_coroutine_wait(*wait, h, until, out);
  } catch (...) {
    wait.reset();
    throw;
  }
  if (!suspended) wait.reset();
  return suspended;
}

fd_wait_outcome resume_from_fd(std::optional<fd_wait_state>& wait,
                               const fd_wait_outcome& out) noexcept {
  if (!wait) return out;
  const fd_wait_outcome outcome = finish_coroutine_wait(*wait);
  wait.reset();
  return outcome;
}

// --- several fds -----------------------------------------------------------------------------

fd_waits::fd_waits(execution_context& ctx, std::size_t capacity) : ctx_(ctx) {
  if (capacity > inline_.size()) heap_ = std::make_unique<std::optional<fd_wait>[]>(capacity);
}

reactor::queued fd_waits::add(reactor& r, int fd, bool for_write) {
  reactor_ = &r;
  std::optional<fd_wait>& w = slot(used_++);
  w.emplace(ctx_, fd, for_write);
  return r.add(*w);  // on a throw the slot stays, unqueued: remove_all() skips it
}

void fd_waits::remove_all() noexcept {
  if (reactor_ == nullptr) return;
  for (std::size_t i = 0; i < used_; ++i) {
    if (std::optional<fd_wait>& w = slot(i)) reactor_->remove(*w);
  }
}

std::uint32_t fd_waits::revents() const noexcept {
  for (std::size_t i = used_; i-- > 0;) {
    if (const std::optional<fd_wait>& w = slot(i); w && w->revents != 0) return w->revents;
  }
  return 0;
}

}  // namespace balrog::detail
