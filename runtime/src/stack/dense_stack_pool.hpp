// Dense stacks: fixed-size slots carved out of large mappings, no guard pages.
//
// Slab layout (addresses grow to the right; stacks grow to the left):
//
//   [sentinel page .. C][slot 0 ........ C][slot 1 ........ C] ...
//
// Each C is a 64-byte canary at the top of a slot (or of the sentinel page). A stack that
// overflows runs off the bottom of its slot into the canary of the slot below, so the canary
// *below* a fiber's slot tells whether that fiber overflowed. Canaries live in the top page of
// each slot, which the fiber below touches anyway, so they cost no extra memory.
//
// Nothing on the spawn path makes a system call once a slab exists, and nothing touches memory
// a fiber would not touch itself: a slab is one mmap (MAP_NORESERVE: committed page by page as
// fibers touch it); slots are handed out from its start in address order; the canary below a
// slot is written when the slot is handed out (re-armed on every reuse); freed slots go on a
// free list linked through the slots themselves (no vector to grow, so deallocate cannot fail).
// Slabs grow geometrically (4 MiB, 8 MiB, ... up to 1 GiB of address space each), so a
// million 16 KiB fibers cost about a dozen mmaps, not four thousand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/stack_source.hpp"

namespace balrog::detail {

class dense_stack_pool final : public stack_source {
 public:
  static constexpr std::size_t canary_bytes = 64;
  static constexpr std::size_t first_slab_bytes = std::size_t{4} << 20;
  static constexpr std::size_t max_slab_bytes = std::size_t{1} << 30;

  explicit dense_stack_pool(std::size_t slot_size);
  ~dense_stack_pool() override;
  dense_stack_pool(const dense_stack_pool&) = delete;
  dense_stack_pool& operator=(const dense_stack_pool&) = delete;

  boost::context::stack_context allocate() override;
  void deallocate(boost::context::stack_context& sc) noexcept override;

  // Mappings made so far (for tests and benchmarks).
  [[nodiscard]] std::size_t slabs() const noexcept { return slabs_.size(); }

 private:
  struct slab {
    void* base;
    std::size_t bytes;
  };
  // A freed slot: the link lives in its own (already touched) stack memory, just below sp.
  struct free_slot {
    free_slot* next;
  };
  void add_slab();
  static free_slot* link_of(void* sp) noexcept;

  std::size_t slot_size_;
  std::size_t next_slab_slots_;  // slots in the next slab (doubles up to max_slab_bytes)
  std::vector<slab> slabs_;
  char* fresh_ = nullptr;      // lowest address of the next never-used slot of the last slab
  char* fresh_end_ = nullptr;  // end of the last slab
  free_slot* free_ = nullptr;  // freed slots, most recent first (its memory is warm)
};

}  // namespace balrog::detail
