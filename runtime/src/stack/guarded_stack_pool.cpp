#include "stack/guarded_stack_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string>

#include "balrog/errors.hpp"
#include "context/sanitizer.hpp"

namespace balrog::detail {

namespace {

// The guard below each stack: 64 KiB of address space (never memory), so a frame larger than
// a page (a big local array, alloca) cannot jump it into the mapping below, which is often
// another fiber's stack (G in the runtime review). -fstack-clash-protection, a usage
// requirement of balrog::runtime, probes every page of a large frame in order, so such a frame
// faults in the guard; the 64 KiB also covers code built without it for frames up to 64 KiB.
std::size_t guard_bytes() noexcept { return std::max<std::size_t>(page_size(), 64 << 10); }

std::string max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  std::string v;
  return (in >> v) ? v : "unknown";
}

}  // namespace

guarded_stack_pool::guarded_stack_pool(std::size_t stack_size, std::size_t max_cached)
    : stack_source(stack_kind::guarded), size_(stack_size), max_cached_(max_cached) {
  cached_.reserve(max_cached_);  // deallocate() then never allocates
}

guarded_stack_pool::~guarded_stack_pool() {
  for (void* sp : cached_) unmap(sp);
}

boost::context::stack_context guarded_stack_pool::allocate() {
  boost::context::stack_context sc;
  sc.size = size_;
  if (!cached_.empty()) {
    sc.sp = cached_.back();
    cached_.pop_back();
    return sc;
  }
  const std::size_t guard = guard_bytes();
  // MAP_NORESERVE: stacks are committed page by page as they are touched.
  void* base = ::mmap(nullptr, size_ + guard, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    throw_errno("balrog: cannot map a " + std::to_string(size_) + "-byte fiber stack (mmap)");
  }
  // Splitting the mapping into guard + stack is what costs the second kernel mapping.
  if (::mprotect(base, guard, PROT_NONE) != 0) {
    const int err = errno;
    ::munmap(base, size_ + guard);
    throw_errno(
        err, "balrog: cannot protect a fiber stack's guard (mprotect; vm.max_map_count is " +
                 max_map_count() +
                 " and each guarded stack uses two mappings: use stack_kind::dense for very many "
                 "fibers)");
  }
  sc.sp = static_cast<char*>(base) + guard + size_;
  return sc;
}

void guarded_stack_pool::deallocate(boost::context::stack_context& sc) noexcept {
  if (cached_.size() < max_cached_) {
    cached_.push_back(sc.sp);  // within the capacity reserved up front: cannot throw
    return;
  }
  unmap(sc.sp);
}

void guarded_stack_pool::unmap(void* sp) const noexcept {
  const std::size_t guard = guard_bytes();
  // ASan keeps the poison of the fiber's dead frames in its shadow after munmap; the next
  // mapping at this address (a file, another stack) would inherit it and report false errors.
  sanitizer::unpoison(static_cast<char*>(sp) - size_, size_);
  ::munmap(static_cast<char*>(sp) - size_ - guard, size_ + guard);
}

}  // namespace balrog::detail
