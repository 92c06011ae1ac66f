// Guarded stacks: one mapping per stack with a PROT_NONE page below it, cached for reuse.
#pragma once

#include <cstddef>
#include <vector>

#include "stack/stack_source.hpp"

namespace balrog::detail {

class guarded_stack_pool final : public stack_source {
 public:
  // `max_cached`: stacks kept for reuse when fibers end; beyond it they are unmapped.
  guarded_stack_pool(std::size_t stack_size, std::size_t max_cached);
  ~guarded_stack_pool() override;
  guarded_stack_pool(const guarded_stack_pool&) = delete;
  guarded_stack_pool& operator=(const guarded_stack_pool&) = delete;

  boost::context::stack_context allocate() override;
  void deallocate(boost::context::stack_context& sc) noexcept override;

 private:
  void unmap(void* sp) const noexcept;

  std::size_t size_;
  std::size_t max_cached_;
  std::vector<void*> cached_;  // stack tops (sp) ready for reuse
};

}  // namespace balrog::detail
