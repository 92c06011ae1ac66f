// One scheduler's stack pools, one per (kind, size) that its fibers asked for.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "stack/stack_source.hpp"

namespace balrog::detail {

class stack_pools {
 public:
  // Guarded stacks kept for reuse per size. Each cached stack keeps the pages it touched.
  static constexpr std::size_t max_cached_guarded = 1024;

  // The pool serving `kind` stacks of `size` bytes (already normalized).
  stack_source& get(stack_kind kind, std::size_t size);

 private:
  struct entry {
    stack_kind kind;
    std::size_t size;
    std::unique_ptr<stack_source> pool;
  };
  std::vector<entry> pools_;  // a handful at most: linear search beats a map
};

}  // namespace balrog::detail
