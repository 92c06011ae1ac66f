// balrog/detail/wait_queue.hpp — FIFO of waiting contexts inside a sync primitive.
//
// Each waiter is a node on the waiting stack, so queuing never allocates. The queue is
// protected by its owner's spinlock; `park_on` runs the whole wait protocol of
// execution_context.hpp against it.
#pragma once

#include <cstddef>

#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/spinlock.hpp"

namespace balrog::detail {

struct waiter {
  explicit waiter(execution_context& c) noexcept : ctx(&c) {}
  execution_context* ctx;
  waiter* prev = nullptr;
  waiter* next = nullptr;
  void* payload = nullptr;  // primitive-specific (a channel's value slot, a reader flag...)
  // The flags last, together: 40 bytes, and a derived node's own small fields (fd_wait's fd
  // and flags, owner_waiter's polls) go in the tail padding (fd_wait_state: two lines).
  bool linked = false;
  bool completed = false;  // set by the waker when it finished the waiter's operation
};

class wait_queue {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] waiter* front() const noexcept { return head_; }

  void push_back(waiter& w) noexcept {
    w.prev = tail_;
    w.next = nullptr;
    (tail_ ? tail_->next : head_) = &w;
    tail_ = &w;
    w.linked = true;
  }

  void erase(waiter& w) noexcept {
    (w.prev ? w.prev->next : head_) = w.next;
    (w.next ? w.next->prev : tail_) = w.prev;
    w.prev = w.next = nullptr;
    w.linked = false;
  }

  // Unlinks waiters from the front until one can be claimed; returns it, or nullptr.
  // Waiters whose claim fails were already woken by a timeout or cancellation.
  waiter* wake_one(wake_reason why = wake_reason::notified) noexcept {
    while (waiter* w = head_) {
      erase(*w);
      if (w->ctx->try_wake(why)) return w;
    }
    return nullptr;
  }

  // Wakes every waiter; returns how many were claimed.
  std::size_t wake_all(wake_reason why = wake_reason::notified) noexcept {
    std::size_t n = 0;
    while (wake_one(why) != nullptr) ++n;
    return n;
  }

 private:
  waiter* head_ = nullptr;
  waiter* tail_ = nullptr;
};

// Wakes every waiter of `q`, whose lock the caller holds, without holding it across a wake:
// claims waiters under the lock (an atomic each), then releases it and wakes them (S in the
// runtime review: a wake may be a futex wake or an eventfd write). In batches, so nothing is
// allocated; a batch's waiters are claimed, so they cannot leave (and free their waiter)
// before they are woken, and those not yet claimed stay queued under the lock. For a queue
// nobody joins any more (a finished fiber's joiners, its flag set under the same lock).
// Returns with `lock` released.
template <class Lock>
void wake_all_unlocked(wait_queue& q, Lock& lock, wake_reason why = wake_reason::notified) {
  constexpr std::size_t batch_size = 16;
  for (;;) {
    execution_context::wake_token batch[batch_size];
    std::size_t n = 0;
    while (n < batch_size && !q.empty()) {
      waiter& w = *q.front();
      q.erase(w);
      if (w.ctx->claim(why, batch[n])) ++n;
    }
    const bool more = !q.empty();
    lock.unlock();
    for (std::size_t i = 0; i < n; ++i) execution_context::wake(batch[i]);
    if (!more) return;
    lock.lock();
  }
}

// Runs steps 1-4 of the wait protocol: enqueue `w`, release `lock`, park, re-acquire `lock`,
// dequeue if nobody did. Returns why it woke; with the lock held again.
template <class Lock>
wake_reason park_on(wait_queue& q, waiter& w, Lock& lock, deadline own, const char* what) {
  execution_context& ctx = *w.ctx;
  ctx.prepare_wait();
  q.push_back(w);
  ctx.waiting_on = what;
  lock.unlock();
  const wake_reason why = ctx.wait(own);
  lock.lock();
  ctx.waiting_on = nullptr;
  if (w.linked) q.erase(w);
  return why;
}

}  // namespace balrog::detail
