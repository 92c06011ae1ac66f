#include "stack/stack_pools.hpp"

#include "stack/dense_stack_pool.hpp"
#include "stack/guarded_stack_pool.hpp"

namespace balrog::detail {

stack_source& stack_pools::get(stack_kind kind, std::size_t size) {
  for (const entry& e : pools_) {
    if (e.kind == kind && e.size == size) return *e.pool;
  }
  std::unique_ptr<stack_source> pool;
  if (kind == stack_kind::dense) {
    pool = std::make_unique<dense_stack_pool>(size);
  } else {
    pool = std::make_unique<guarded_stack_pool>(size, max_cached_guarded_);
  }
  pools_.push_back({kind, size, std::move(pool)});
  return *pools_.back().pool;
}

}  // namespace balrog::detail
