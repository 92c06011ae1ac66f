// Timers of one scheduler: a binary min-heap of intrusive nodes.
//
// Nodes live in the waiting frames (no allocation per timer). Each node knows its heap index,
// so cancelling a timer whose wait ended early is O(log n), as is arming one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "balrog/deadline.hpp"

namespace balrog::detail {

struct timer_node {
  static constexpr std::size_t not_armed = static_cast<std::size_t>(-1);
  clock::time_point when{};
  std::size_t index = not_armed;
  std::uint64_t sequence = 0;  // ties fire in arming order
  void (*fire)(timer_node&) noexcept = nullptr;
  void* data = nullptr;

  [[nodiscard]] bool armed() const noexcept { return index != not_armed; }
};

class timer_heap {
 public:
  void arm(timer_node& node);
  void disarm(timer_node& node) noexcept;
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  // The earliest deadline; only when !empty().
  [[nodiscard]] clock::time_point next() const noexcept { return heap_.front()->when; }
  // Fires (and disarms) every timer due at `now`, earliest first. Returns how many fired.
  std::size_t fire_due(clock::time_point now) noexcept;

 private:
  static bool before(const timer_node* a, const timer_node* b) noexcept {
    return a->when < b->when || (a->when == b->when && a->sequence < b->sequence);
  }
  void place(std::size_t i, timer_node* n) noexcept {
    heap_[i] = n;
    n->index = i;
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void remove_at(std::size_t i) noexcept;

  std::vector<timer_node*> heap_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace balrog::detail
