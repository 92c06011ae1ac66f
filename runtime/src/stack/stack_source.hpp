// The stack-allocator concept balrog uses, and the Boost.Context allocator value built on it.
//
// Boost.Context wants a StackAllocator *value* (allocate() -> stack_context, deallocate()).
// Each policy (guarded, dense) is one small class implementing stack_source; the fiber record
// Boost places on the stack holds a pool_stack_allocator that points back at its source, so
// the stack returns to the pool it came from when the fiber ends.
#pragma once

#include <boost/context/stack_context.hpp>
#include <cstddef>
#include <cstdint>

#include "balrog/stack.hpp"
#include "core/sanitizer.hpp"

namespace balrog::detail {

// The word that fills a dense stack's canary (see dense_stack_pool.hpp).
inline constexpr std::uint64_t dense_canary = 0xba1209ca4a12c0deULL;

// What a fiber needs to know about its stack (overflow reports, ASan, the dense canary).
struct stack_facts {
  const void* lowest = nullptr;           // lowest usable address
  std::size_t size = 0;                   // usable bytes
  const std::uint64_t* canary = nullptr;  // dense stacks: checked on every switch-out
  stack_kind kind = stack_kind::guarded;
};

class stack_source {
 public:
  virtual ~stack_source() = default;
  virtual boost::context::stack_context allocate() = 0;
  virtual void deallocate(boost::context::stack_context& sc) noexcept = 0;
  [[nodiscard]] virtual stack_facts facts(
      const boost::context::stack_context& sc) const noexcept = 0;
};

// The StackAllocator value handed to boost::context::fiber. `facts_out` receives the facts
// of the stack it allocates.
class pool_stack_allocator {
 public:
  pool_stack_allocator(stack_source& source, stack_facts& facts_out) noexcept
      : source_(&source), facts_out_(&facts_out) {}
  boost::context::stack_context allocate() {
    auto sc = source_->allocate();
    *facts_out_ = source_->facts(sc);
    sanitizer::unpoison(facts_out_->lowest, facts_out_->size);
    return sc;
  }
  void deallocate(boost::context::stack_context& sc) noexcept { source_->deallocate(sc); }

 private:
  stack_source* source_;
  stack_facts* facts_out_;
};

// Page size, read once.
std::size_t page_size() noexcept;
// Rounds a requested size up to whole pages and at least min_stack_size; 0 -> kind default.
std::size_t normalized_stack_size(stack_kind kind, std::size_t requested) noexcept;

}  // namespace balrog::detail
