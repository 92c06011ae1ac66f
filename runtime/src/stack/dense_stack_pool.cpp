#include "stack/dense_stack_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <string>

#include "balrog/errors.hpp"
#include "core/context/sanitizer.hpp"

namespace balrog::detail {

namespace {

constexpr std::size_t slab_target_bytes = 4 * 1024 * 1024;

void fill_canary(char* region_top) noexcept {
  auto* words = reinterpret_cast<std::uint64_t*>(region_top - dense_stack_pool::canary_bytes);
  std::fill_n(words, dense_stack_pool::canary_bytes / sizeof(std::uint64_t), dense_canary);
}

}  // namespace

dense_stack_pool::dense_stack_pool(std::size_t slot_size)
    : slot_size_(slot_size),
      slots_per_slab_(std::max<std::size_t>(1, slab_target_bytes / slot_size)) {}

dense_stack_pool::~dense_stack_pool() {
  for (const slab& s : slabs_) {
    sanitizer::unpoison(s.base, s.bytes);  // see guarded_stack_pool::unmap
    ::munmap(s.base, s.bytes);
  }
}

void dense_stack_pool::add_slab() {
  const std::size_t bytes = page_size() + slots_per_slab_ * slot_size_;
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    throw_errno("balrog: cannot map a slab of dense fiber stacks (" + std::to_string(bytes) +
                " bytes, mmap)");
  }
  slabs_.push_back({base, bytes});
  char* first_slot = static_cast<char*>(base) + page_size();
  fill_canary(first_slot);  // the sentinel canary below slot 0
  // Room for every slot of every slab, so deallocate() (noexcept) never reallocates.
  free_.reserve(slabs_.size() * slots_per_slab_);
  // Push in reverse so slots are handed out in address order (neighbours share slabs).
  for (std::size_t i = slots_per_slab_; i-- > 0;) {
    char* top = first_slot + (i + 1) * slot_size_;
    fill_canary(top);
    free_.push_back(top - canary_bytes);
  }
}

boost::context::stack_context dense_stack_pool::allocate() {
  if (free_.empty()) add_slab();
  boost::context::stack_context sc;
  sc.sp = free_.back();
  sc.size = slot_size_ - canary_bytes;
  free_.pop_back();
  return sc;
}

void dense_stack_pool::deallocate(boost::context::stack_context& sc) noexcept {
  // free_ has capacity for every slot ever made (reserved in add_slab): push_back cannot throw.
  free_.push_back(sc.sp);
}

stack_facts dense_stack_pool::facts(const boost::context::stack_context& sc) const noexcept {
  const char* lowest = static_cast<const char*>(sc.sp) - sc.size;
  // The word right below the slot is the first one an overflow overwrites.
  const auto* canary = reinterpret_cast<const std::uint64_t*>(lowest) - 1;
  return {lowest, sc.size, canary, stack_kind::dense};
}

}  // namespace balrog::detail
