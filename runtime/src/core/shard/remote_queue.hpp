// The queue other threads hand a scheduler work through: wake-ups, spawn_on adoptions,
// cross-thread cancels, chains coming home, posted functions.
//
// An intrusive multi-producer single-consumer queue (Dmitry Vyukov's, with a stub node): a
// push is one exchange and one store, wait-free, with no lock and no allocation: the node is
// embedded in what it wakes (the fiber or task context) or, for posted std::functions, is
// allocated with the function. Only the owner's loop pops. A pop may find the queue
// momentarily inconsistent (a producer exchanged the tail but has not linked its node yet); it
// then returns null while maybe_nonempty() stays true, and the loop looks again without
// sleeping.
#pragma once

#include <atomic>

namespace balrog::detail {

struct remote_node {
  std::atomic<remote_node*> remote_next{nullptr};
  // What the loop does with the node once popped: run it (`run`), or drop it because the
  // scheduler stopped (`!run`: release what it holds, fail what it started). The node may be
  // freed or pushed again by the call.
  void (*remote_fn)(remote_node& self, bool run) = nullptr;
};

class remote_queue {
 public:
  remote_queue() noexcept : head_(&stub_), tail_(&stub_) {}
  remote_queue(const remote_queue&) = delete;
  remote_queue& operator=(const remote_queue&) = delete;

  // Any thread. After it returns the node belongs to the consumer.
  void push(remote_node& n) noexcept {
    n.remote_next.store(nullptr, std::memory_order_relaxed);
    remote_node* prev = tail_.exchange(&n, std::memory_order_seq_cst);
    prev->remote_next.store(&n, std::memory_order_release);
  }

  // The consumer only. Null when empty, or while a push is half done.
  remote_node* pop() noexcept {
    remote_node* head = head_;
    remote_node* next = head->remote_next.load(std::memory_order_acquire);
    if (head == &stub_) {
      if (next == nullptr) return nullptr;
      head_ = next;
      head = next;
      next = next->remote_next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      head_ = next;
      return head;
    }
    if (head != tail_.load(std::memory_order_acquire)) return nullptr;  // a push in progress
    push(stub_);
    next = head->remote_next.load(std::memory_order_acquire);
    if (next != nullptr) {
      head_ = next;
      return head;
    }
    return nullptr;
  }

  // The consumer only: false when nothing was pushed that pop() did not return. seq_cst: the
  // loop's "about to sleep" store, then this load, against a producer's push, then its load of
  // the loop's flag (scheduler::wait_for_events).
  [[nodiscard]] bool maybe_nonempty() const noexcept {
    return head_ != &stub_ || tail_.load(std::memory_order_seq_cst) != &stub_;
  }
  // The consumer only: the node pushed last (the stub when empty), to drain up to it.
  [[nodiscard]] const remote_node* last() const noexcept {
    return tail_.load(std::memory_order_acquire);
  }

 private:
  remote_node stub_;
  remote_node* head_;  // the consumer's
  alignas(64) std::atomic<remote_node*> tail_;
};

}  // namespace balrog::detail
