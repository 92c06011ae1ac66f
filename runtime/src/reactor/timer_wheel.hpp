// Timers of one scheduler: a hierarchical timing wheel for timers that are far, a small heap
// for those due in the current tick.
//
// Almost every timer balrog arms is a deadline cancelled long before it fires (an I/O wait
// that completes, a lock that is handed over): arming and cancelling one must cost O(1), not
// O(log n) cache misses in a heap of every pending timer. So a timer due after the current
// tick (~1 ms, 2^20 ns) goes into a wheel slot — 8 levels of 64 slots, each level 64 times
// coarser than the one below, an intrusive list per slot and a bitmap per level — and is
// moved down a level (O(1)) each time the wheel's tick reaches its slot. Only when its own
// tick comes does it enter the heap, which orders the timers of that tick exactly: by
// deadline, ties in arming order. Timers fire at their exact deadline, never early.
//
// next() is the earliest deadline when the heap has one or the earliest occupied slot holds
// few timers, else the start of that slot (a lower bound): the loop wakes there, fire_due()
// moves the slot's timers closer, and next() says more. Nodes live in the waiting frames (no
// allocation per timer).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "balrog/deadline.hpp"

namespace balrog::detail {

struct timer_node {
  clock::time_point when{};
  std::uint64_t sequence = 0;  // ties fire in arming order
  void (*fire)(timer_node&) noexcept = nullptr;
  void* data = nullptr;

  // Where the wheel keeps it (its own business).
  static constexpr std::int32_t idle = -1;
  static constexpr std::int32_t in_heap = -2;
  std::int32_t place = idle;  // idle, in_heap, or the wheel slot's index
  std::size_t heap_index = 0;
  timer_node* prev = nullptr;  // in a wheel slot's list
  timer_node* next = nullptr;

  [[nodiscard]] bool armed() const noexcept { return place != idle; }
};

class timer_wheel {
 public:
  timer_wheel() = default;
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  // Arms `node` for node.when (re-arming an armed node is a bug: disarm it first).
  void arm(timer_node& node);
  void disarm(timer_node& node) noexcept;
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // When the loop must look again: the earliest deadline, or a lower bound of it (see above).
  // Only when !empty().
  [[nodiscard]] clock::time_point next() const noexcept;
  // Fires (and disarms) every timer due at `now`, earliest first. Returns how many fired.
  std::size_t fire_due(clock::time_point now) noexcept;

 private:
  static constexpr int tick_shift = 20;  // a tick is 2^20 ns, about a millisecond
  static constexpr int level_bits = 6;
  static constexpr int slots_per_level = 1 << level_bits;
  static constexpr int levels = 8;  // 6 * 8 = 48 bits of ticks: beyond any steady_clock value

  static std::uint64_t tick_of(clock::time_point t) noexcept;
  static clock::time_point start_of(std::uint64_t tick) noexcept;
  // Puts an armed node where it belongs relative to current_ (a slot, or the heap).
  void place(timer_node& node) noexcept;
  void link(timer_node& node, int level, int slot) noexcept;
  void unlink(timer_node& node) noexcept;
  // The start tick of the earliest occupied slot; false when the wheel's slots are empty.
  bool next_slot(std::uint64_t& tick, int& level, int& slot) const noexcept;
  // Moves current_ forward to `target`, taking every slot it reaches closer.
  void advance(std::uint64_t target) noexcept;

  static bool before(const timer_node* a, const timer_node* b) noexcept {
    return a->when < b->when || (a->when == b->when && a->sequence < b->sequence);
  }
  void heap_push(timer_node& node) noexcept;  // room reserved by arm()
  void heap_remove(std::size_t i) noexcept;
  void heap_place(std::size_t i, timer_node* n) noexcept {
    heap_[i] = n;
    n->heap_index = i;
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;

  std::uint64_t current_ = 0;  // every timer of a tick <= current_ is in the heap
  std::array<timer_node*, levels * slots_per_level> slots_{};
  std::array<std::uint64_t, levels> occupied_{};  // bit s: slot s of that level has timers
  std::vector<timer_node*> heap_;
  std::size_t size_ = 0;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace balrog::detail
