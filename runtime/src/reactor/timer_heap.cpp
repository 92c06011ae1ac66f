#include "reactor/timer_heap.hpp"

namespace balrog::detail {

void timer_heap::arm(timer_node& node) {
  node.sequence = next_sequence_++;
  heap_.push_back(&node);
  node.index = heap_.size() - 1;
  sift_up(node.index);
}

void timer_heap::disarm(timer_node& node) noexcept {
  if (node.armed()) remove_at(node.index);
}

void timer_heap::remove_at(std::size_t i) noexcept {
  timer_node* removed = heap_[i];
  timer_node* last = heap_.back();
  heap_.pop_back();
  removed->index = timer_node::not_armed;
  if (i == heap_.size()) return;
  place(i, last);
  if (i > 0 && before(last, heap_[(i - 1) / 2])) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void timer_heap::sift_up(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!before(n, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void timer_heap::sift_down(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], n)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, n);
}

std::size_t timer_heap::fire_due(clock::time_point now) noexcept {
  std::size_t fired = 0;
  while (!heap_.empty() && heap_.front()->when <= now) {
    timer_node* n = heap_.front();
    remove_at(0);
    n->fire(*n);
    ++fired;
  }
  return fired;
}

}  // namespace balrog::detail
