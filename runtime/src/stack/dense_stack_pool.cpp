#include "stack/dense_stack_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <string>

#include "balrog/errors.hpp"
#include "context/sanitizer.hpp"

namespace balrog::detail {

namespace {

void fill_canary(char* region_top) noexcept {
  auto* words = reinterpret_cast<std::uint64_t*>(region_top - dense_stack_pool::canary_bytes);
  std::fill_n(words, dense_stack_pool::canary_bytes / sizeof(std::uint64_t), dense_canary);
}

}  // namespace

dense_stack_pool::dense_stack_pool(std::size_t slot_size)
    : stack_source(stack_kind::dense),
      slot_size_(slot_size),
      next_slab_slots_(std::max<std::size_t>(1, first_slab_bytes / slot_size)) {}

dense_stack_pool::~dense_stack_pool() {
  for (const slab& s : slabs_) {
    sanitizer::unpoison(s.base, s.bytes);  // see guarded_stack_pool::unmap
    ::munmap(s.base, s.bytes);
  }
}

void dense_stack_pool::add_slab() {
  const std::size_t slots = next_slab_slots_;
  const std::size_t bytes = page_size() + slots * slot_size_;
  slabs_.reserve(slabs_.size() + 1);  // before the mmap: nothing to undo if it throws
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    throw_errno("balrog: cannot map a slab of dense fiber stacks (" + std::to_string(bytes) +
                " bytes, mmap)");
  }
  slabs_.push_back({base, bytes});
  // Slot 0 sits above the sentinel page, whose top holds the canary below it.
  fresh_ = static_cast<char*>(base) + page_size();
  fresh_end_ = static_cast<char*>(base) + bytes;
  next_slab_slots_ = std::min(slots * 2, std::max<std::size_t>(1, max_slab_bytes / slot_size_));
}

dense_stack_pool::free_slot* dense_stack_pool::link_of(void* sp) noexcept {
  return reinterpret_cast<free_slot*>(static_cast<char*>(sp) - 2 * sizeof(free_slot));
}

boost::context::stack_context dense_stack_pool::allocate() {
  boost::context::stack_context sc;
  sc.size = slot_size_ - canary_bytes;
  if (free_ != nullptr) {
    free_slot* slot = free_;
    free_ = slot->next;
    sc.sp = reinterpret_cast<char*>(slot) + 2 * sizeof(free_slot);
  } else {
    if (fresh_ == fresh_end_) add_slab();
    fresh_ += slot_size_;
    sc.sp = fresh_ - canary_bytes;
  }
  // The canary below the slot (the slot below's top, or the sentinel page's): armed, or
  // re-armed, for the fiber about to run here, which checks it on every switch-out.
  char* const floor = static_cast<char*>(sc.sp) - sc.size;
  sanitizer::unpoison(floor - canary_bytes, canary_bytes);
  fill_canary(floor);
  return sc;
}

void dense_stack_pool::deallocate(boost::context::stack_context& sc) noexcept {
  // The fiber that ran here is gone; its frames may still be poisoned for ASan.
  free_slot* slot = link_of(sc.sp);
  sanitizer::unpoison(slot, sizeof(free_slot));
  slot->next = free_;
  free_ = slot;
}

}  // namespace balrog::detail
