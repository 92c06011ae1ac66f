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
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/stack_source.hpp"

namespace balrog::detail {

class dense_stack_pool final : public stack_source {
 public:
  static constexpr std::size_t canary_bytes = 64;

  explicit dense_stack_pool(std::size_t slot_size);
  ~dense_stack_pool() override;
  dense_stack_pool(const dense_stack_pool&) = delete;
  dense_stack_pool& operator=(const dense_stack_pool&) = delete;

  boost::context::stack_context allocate() override;
  void deallocate(boost::context::stack_context& sc) noexcept override;
  [[nodiscard]] stack_facts facts(const boost::context::stack_context& sc) const noexcept override;

 private:
  struct slab {
    void* base;
    std::size_t bytes;
  };
  void add_slab();

  std::size_t slot_size_;
  std::size_t slots_per_slab_;
  std::vector<slab> slabs_;
  std::vector<void*> free_;  // stack tops (sp) of free slots
};

}  // namespace balrog::detail
