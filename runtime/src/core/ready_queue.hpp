// Intrusive FIFO of fibers, linked through fiber_context::ready_next. No allocation.
#pragma once

#include "core/fiber_context.hpp"

namespace balrog::detail {

class ready_queue {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  void push(fiber_context* f) noexcept {
    f->ready_next = nullptr;
    (tail_ ? tail_->ready_next : head_) = f;
    tail_ = f;
  }
  fiber_context* pop() noexcept {
    fiber_context* f = head_;
    head_ = f->ready_next;
    if (head_ == nullptr) tail_ = nullptr;
    f->ready_next = nullptr;
    return f;
  }
  // Moves all of `other` to the back of this queue.
  void splice(ready_queue& other) noexcept {
    if (other.empty()) return;
    (tail_ ? tail_->ready_next : head_) = other.head_;
    tail_ = other.tail_;
    other.head_ = other.tail_ = nullptr;
  }

 private:
  fiber_context* head_ = nullptr;
  fiber_context* tail_ = nullptr;
};

}  // namespace balrog::detail
