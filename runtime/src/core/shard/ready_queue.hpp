// Intrusive FIFO of runnables (fibers and coroutine tasks), linked through ready_next.
#pragma once

#include "core/fiber/runnable.hpp"

namespace balrog::detail {

class ready_queue {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] runnable* front() const noexcept { return head_; }
  void push(runnable& r) noexcept {
    r.ready_next = nullptr;
    (tail_ ? tail_->ready_next : head_) = &r;
    tail_ = &r;
  }
  runnable* pop() noexcept {
    runnable* r = head_;
    head_ = r->ready_next;
    if (head_ == nullptr) tail_ = nullptr;
    r->ready_next = nullptr;
    return r;
  }
  // Moves all of `other` to the back of this queue.
  void splice(ready_queue& other) noexcept {
    if (other.empty()) return;
    (tail_ ? tail_->ready_next : head_) = other.head_;
    tail_ = other.tail_;
    other.head_ = other.tail_ = nullptr;
  }

 private:
  runnable* head_ = nullptr;
  runnable* tail_ = nullptr;
};

}  // namespace balrog::detail
