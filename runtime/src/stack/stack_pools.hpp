// One scheduler's stack pools, one per (kind, size) that its fibers asked for.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "stack/stack_source.hpp"

namespace balrog::detail {

class stack_pools {
 public:
  // Keeps up to `max_cached_guarded` guarded stacks per size for reuse (shard_options::
  // cached_guarded_stacks). Each cached stack keeps the pages it touched.
  explicit stack_pools(std::size_t max_cached_guarded) noexcept
      : max_cached_guarded_(max_cached_guarded) {}

  // The pool serving `kind` stacks of `size` bytes (already normalized).
  stack_source& get(stack_kind kind, std::size_t size);

 private:
  struct entry {
    stack_kind kind;
    std::size_t size;
    std::unique_ptr<stack_source> pool;
  };
  std::size_t max_cached_guarded_;
  std::vector<entry> pools_;  // a handful at most: linear search beats a map
};

}  // namespace balrog::detail
