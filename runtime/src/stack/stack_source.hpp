// The stack-allocator concept balrog uses: Boost.Context's StackAllocator (allocate() ->
// stack_context, deallocate(stack_context)), as a small interface with one class per policy
// (guarded, dense). The scheduler keeps the source a fiber's stack came from and gives the
// stack back to it when the fiber ends (core/shard/scheduler.cpp; context/context_switch.hpp
// builds the first frame on it).
#pragma once

#include <boost/context/stack_context.hpp>
#include <cstddef>
#include <cstdint>

#include "balrog/stack.hpp"
#include "context/sanitizer.hpp"

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
  explicit stack_source(stack_kind kind) noexcept : kind_(kind) {}
  virtual ~stack_source() = default;
  virtual boost::context::stack_context allocate() = 0;
  virtual void deallocate(boost::context::stack_context& sc) noexcept = 0;

  // What a fiber needs to know about a stack this source handed out, written in place (a
  // stack_facts returned by a virtual call and copied into the fiber cost a store-forwarding
  // stall on every spawn). A dense stack's canary is the word right below its slot: the first
  // one an overflow overwrites (dense_stack_pool.hpp).
  void describe(const boost::context::stack_context& sc, stack_facts& out) const noexcept {
    out.lowest = static_cast<const char*>(sc.sp) - sc.size;
    out.size = sc.size;
    out.canary =
        kind_ == stack_kind::dense ? static_cast<const std::uint64_t*>(out.lowest) - 1 : nullptr;
    out.kind = kind_;
  }

 private:
  const stack_kind kind_;
};

// Page size, read once.
std::size_t page_size() noexcept;
// Rounds a requested size up to whole pages and at least min_stack_size; 0 -> kind default.
std::size_t normalized_stack_size(stack_kind kind, std::size_t requested) noexcept;

}  // namespace balrog::detail
