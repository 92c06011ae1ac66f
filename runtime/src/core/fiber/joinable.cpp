#include "core/fiber/joinable.hpp"

#include <cstdio>
#include <exception>
#include <mutex>
#include <string>

#include "balrog/errors.hpp"
#include "core/shard/scheduler.hpp"

namespace balrog::detail {

namespace {

// "fiber-123" without allocating (spawn is hot).
void format_default_name(char* out, std::size_t room, const char* prefix,
                         std::uint64_t id) noexcept {
  char digits[24];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id != 0);
  std::size_t i = 0;
  for (; *prefix != '\0' && i + 1 < room; ++prefix) out[i++] = *prefix;
  while (n > 0 && i + 1 < room) out[i++] = digits[--n];
  out[i] = '\0';
}

}  // namespace

joinable_context::joinable_context(kind k, scheduler& s, fiber_task* t, std::string&& name,
                                   std::uint64_t id_) noexcept
    : runnable(k), sched(s), task(t), id(id_) {
  // Most fibers have no name: moving an empty std::string still copies its terminator with a
  // call to memcpy (spawn is hot).
  if (!name.empty()) name_ = std::move(name);
  cancel_node.owner = this;
  home_node.owner = this;
}

joinable_context::~joinable_context() {
  if (locals != nullptr) destroy_fiber_locals(*this);  // never ran, normally
}

std::string_view joinable_context::name() const noexcept { return name_c_str(); }

const char* joinable_context::name_c_str() const noexcept {
  if (!name_.empty()) return name_.c_str();
  int state = default_name_state_.load(std::memory_order_acquire);
  if (state != 2) {
    if (state == 0 && default_name_state_.compare_exchange_strong(state, 1)) {
      format_default_name(default_name_, sizeof default_name_,
                          what == kind::fiber ? "fiber-" : "task-", id);
      default_name_state_.store(2, std::memory_order_release);
    } else {
      while (default_name_state_.load(std::memory_order_acquire) != 2) {
      }  // another thread is formatting it: a few nanoseconds
    }
  }
  return default_name_;
}

void joinable_context::arm_deadline(deadline until, wake_reason timeout_reason) noexcept {
  if (until.is_never()) return;
  deadline_timer_.when = until.when();
  deadline_timer_.fire = &on_deadline;
  deadline_timer_.data = this;
  timeout_reason_ = timeout_reason;
  sched.timers().arm(deadline_timer_);
}

void joinable_context::disarm_deadline() noexcept { sched.timers().disarm(deadline_timer_); }

void joinable_context::on_deadline(timer_node& node) noexcept {
  auto* j = static_cast<joinable_context*>(node.data);
  j->try_wake(j->timeout_reason_);
}

void joinable_context::unpark() noexcept { sched.schedule(*this); }

bool joinable_context::finish() noexcept {
  const std::uint32_t old = flags.fetch_or(flag_finished, std::memory_order_acq_rel);
  bool joiner_here = false;
  if ((old & flag_locked) != 0) {
    // Someone waits (or looks) under the lock: wait for it to queue or leave, then wake the
    // joiners after the unlock (S in the runtime review). One that comes later sees the flag
    // in enter_locked and does not queue.
    std::unique_lock lk(join_lock);
    wake_all_unlocked(joiners, lk);
  } else {
    // Nobody came under the lock before the flag, and anyone who does now sees it: the queue
    // holds only the owner-thread joiner (join's lock-free path), a fiber of this shard, which
    // nothing but this thread claims (its timers, its cancellation and this queue are all
    // here), so the claim needs no read-modify-write.
    std::size_t woken = 0;
    while (waiter* w = joiners.front()) {
      joiners.erase(*w);
      if (w->ctx->claim_here(wake_reason::notified)) {
        ++woken;
        execution_context::wake({w->ctx, nullptr});
      }
    }
    joiner_here = woken == 1;
  }
  if ((old & flag_dropped) != 0) {
    report_if_unobserved(*this);
  } else if ((old & flag_detached) != 0) {
    terminate_if_unobserved(*this);
  } else {
    sched.release_attachment();
  }
  return joiner_here;
}

void retain(joinable_context* j) noexcept { j->refs.fetch_add(1, std::memory_order_relaxed); }

void release(joinable_context* j) noexcept {
  // The last reference (a join's, usually) needs no read-modify-write: nobody else holds one,
  // so nobody can take another.
  if (j->refs.load(std::memory_order_acquire) == 1 ||
      j->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    j->destroy();
  }
}

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

void report_failure(const joinable_context& j, const char* how, const std::string& what) {
  std::fprintf(stderr, "balrog: %s '%s' (#%llu) %s: %s\n", j.is_fiber() ? "fiber" : "task",
               j.name_c_str(), static_cast<unsigned long long>(j.id), how, what.c_str());
}

void report_if_unobserved(const joinable_context& j) {
  const std::string what = describe_failure(j.task->failure());
  if (!what.empty()) report_failure(j, "ended with an exception nobody joined", what);
}

void terminate_if_unobserved(const joinable_context& j) noexcept {
  const std::string what = describe_failure(j.task->failure());
  if (what.empty()) return;
  report_failure(j, "was detached and ended with an unhandled exception", what);
  std::terminate();
}

}  // namespace balrog::detail
