#include "reactor/timer_wheel.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <limits>

namespace balrog::detail {

std::uint64_t timer_wheel::tick_of(clock::time_point t) noexcept {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns) >> tick_shift;
}

clock::time_point timer_wheel::start_of(std::uint64_t tick) noexcept {
  return clock::time_point(std::chrono::duration_cast<clock::duration>(
      std::chrono::nanoseconds(static_cast<std::int64_t>(tick << tick_shift))));
}

void timer_wheel::arm(timer_node& node) {
  // Room in the heap for every armed timer, reserved here (where throwing is allowed) so that
  // fire_due() never allocates when it moves timers into the heap.
  if (heap_.capacity() <= size_) heap_.reserve(std::max<std::size_t>(64, 2 * heap_.capacity()));
  node.sequence = next_sequence_++;
  place(node);
  ++size_;
}

void timer_wheel::disarm(timer_node& node) noexcept {
  if (node.place == timer_node::idle) return;
  if (node.place == timer_node::in_heap) {
    heap_remove(node.heap_index);
  } else {
    unlink(node);
  }
  node.place = timer_node::idle;
  --size_;
}

void timer_wheel::place(timer_node& node) noexcept {
  const std::uint64_t t = tick_of(node.when);
  if (t <= current_) {
    heap_push(node);
    return;
  }
  // The level is that of the highest group of bits where t and the wheel's tick differ: within
  // that level's slot the timer shares every higher group with current_.
  const int highest = 63 - std::countl_zero(t ^ current_);
  const int level = highest / level_bits;
  link(node, level, static_cast<int>((t >> (level * level_bits)) & (slots_per_level - 1)));
}

void timer_wheel::link(timer_node& node, int level, int slot) noexcept {
  const int index = level * slots_per_level + slot;
  timer_node*& head = slots_[static_cast<std::size_t>(index)];
  node.prev = nullptr;
  node.next = head;
  if (head != nullptr) head->prev = &node;
  head = &node;
  node.place = index;
  occupied_[static_cast<std::size_t>(level)] |= std::uint64_t{1} << slot;
}

void timer_wheel::unlink(timer_node& node) noexcept {
  const auto index = static_cast<std::size_t>(node.place);
  (node.prev != nullptr ? node.prev->next : slots_[index]) = node.next;
  if (node.next != nullptr) node.next->prev = node.prev;
  node.prev = node.next = nullptr;
  if (slots_[index] == nullptr) {
    occupied_[index / slots_per_level] &= ~(std::uint64_t{1} << (index % slots_per_level));
  }
}

bool timer_wheel::next_slot(std::uint64_t& tick, int& level, int& slot) const noexcept {
  std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
  for (int l = 0; l < levels; ++l) {
    const std::uint64_t bits = occupied_[static_cast<std::size_t>(l)];
    if (bits == 0) continue;
    // Every occupied slot of a level lies after the wheel's position in it: a timer goes into
    // a level only when its group there is ahead of current_'s, and advance() empties each slot
    // as current_ reaches it.
    const int pos = static_cast<int>((current_ >> (l * level_bits)) & (slots_per_level - 1));
    const std::uint64_t ahead =
        pos == slots_per_level - 1 ? 0 : bits & (~std::uint64_t{0} << (pos + 1));
    std::uint64_t base = current_ & ~((std::uint64_t{1} << ((l + 1) * level_bits)) - 1);
    std::uint64_t candidates = ahead;
    if (candidates == 0) {  // cannot happen (see above); the next rotation, to be safe
      candidates = bits;
      base += std::uint64_t{1} << ((l + 1) * level_bits);
    }
    const int s = std::countr_zero(candidates);
    const std::uint64_t start = base | (static_cast<std::uint64_t>(s) << (l * level_bits));
    if (start < best) {
      best = start;
      level = l;
      slot = s;
    }
  }
  tick = best;
  return best != std::numeric_limits<std::uint64_t>::max();
}

void timer_wheel::advance(std::uint64_t target) noexcept {
  for (;;) {
    std::uint64_t start = 0;
    int level = 0;
    int slot = 0;
    if (!next_slot(start, level, slot) || start > target) break;
    current_ = start;
    // Everything in the slot is at most one level closer now (or due: the heap).
    const auto index = static_cast<std::size_t>(level * slots_per_level + slot);
    timer_node* n = slots_[index];
    slots_[index] = nullptr;
    occupied_[static_cast<std::size_t>(level)] &= ~(std::uint64_t{1} << slot);
    while (n != nullptr) {
      timer_node* next = n->next;
      n->prev = n->next = nullptr;
      place(*n);
      n = next;
    }
  }
  if (target > current_) current_ = target;
}

clock::time_point timer_wheel::next() const noexcept {
  if (!heap_.empty()) return heap_.front()->when;
  std::uint64_t start = 0;
  int level = 0;
  int slot = 0;
  (void)next_slot(start, level, slot);
  // Slots of a higher level cover later ticks than every slot below it, so the earliest
  // occupied slot holds the earliest deadline: when it holds few timers, find it, and the loop
  // sleeps once instead of waking at the slot's start to move its timers closer.
  constexpr int scan_at_most = 16;
  clock::time_point earliest = clock::time_point::max();
  int seen = 0;
  for (const timer_node* n = slots_[static_cast<std::size_t>(level * slots_per_level + slot)];
       n != nullptr; n = n->next) {
    if (++seen > scan_at_most) return start_of(start);
    if (n->when < earliest) earliest = n->when;
  }
  return earliest;
}

std::size_t timer_wheel::fire_due(clock::time_point now) noexcept {
  const std::uint64_t target = tick_of(now);
  if (target > current_) advance(target);
  std::size_t fired = 0;
  while (!heap_.empty() && heap_.front()->when <= now) {
    timer_node* n = heap_.front();
    heap_remove(0);
    n->place = timer_node::idle;
    --size_;
    n->fire(*n);
    ++fired;
  }
  return fired;
}

// --- the heap of the current tick ------------------------------------------------------------

void timer_wheel::heap_push(timer_node& node) noexcept {
  heap_.push_back(&node);
  node.place = timer_node::in_heap;
  node.heap_index = heap_.size() - 1;
  sift_up(node.heap_index);
}

void timer_wheel::heap_remove(std::size_t i) noexcept {
  timer_node* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  heap_place(i, last);
  if (i > 0 && before(last, heap_[(i - 1) / 2])) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void timer_wheel::sift_up(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!before(n, heap_[parent])) break;
    heap_place(i, heap_[parent]);
    i = parent;
  }
  heap_place(i, n);
}

void timer_wheel::sift_down(std::size_t i) noexcept {
  timer_node* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], n)) break;
    heap_place(i, heap_[child]);
    i = child;
  }
  heap_place(i, n);
}

}  // namespace balrog::detail
