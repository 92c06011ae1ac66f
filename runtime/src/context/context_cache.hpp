// Freed fiber context blocks (a fiber_context and its task, one block per spawn), kept by their
// scheduler for the next spawn, so spawning and ending a fiber on its own shard cost no
// malloc/free. Blocks go into size classes of 64 bytes up to 1 KiB (most tasks are a small
// lambda); bigger or over-aligned blocks are not cached. Owner thread only: a context
// destroyed on another thread goes back to the allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "context/sanitizer.hpp"

namespace balrog::detail {

class context_cache {
 public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t classes = 16;  // blocks up to 1 KiB
  // Keeps up to `max_per_class` blocks per class (shard_options::cached_context_blocks; 256
  // blocks of at most 1 KiB is at most 4 MiB per scheduler in the worst case).
  explicit context_cache(std::uint32_t max_per_class) noexcept : max_per_class_(max_per_class) {}
  context_cache(const context_cache&) = delete;
  context_cache& operator=(const context_cache&) = delete;
  ~context_cache() {
    for (node*& head : heads_) {
      while (head != nullptr) {
        node* n = head;
        sanitizer::unpoison(n, sizeof(node));
        head = n->next;
        ::operator delete(n);
      }
    }
  }

  // Whether a block of `bytes` aligned to `align` goes through the cache (then it is
  // allocated with rounded(bytes) and the default alignment).
  static bool cacheable(std::size_t bytes, std::size_t align) noexcept {
    return align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ && bytes <= granule * classes;
  }
  static std::size_t rounded(std::size_t bytes) noexcept {
    return (bytes + granule - 1) / granule * granule;
  }

  // A cached block of rounded(bytes), or null.
  void* take(std::size_t bytes) noexcept {
    const std::size_t c = class_of(bytes);
    node* n = heads_[c];
    if (n == nullptr) return nullptr;
    sanitizer::unpoison(n, rounded(bytes));
    heads_[c] = n->next;
    --counts_[c];
    return n;
  }
  // Keeps a block of rounded(bytes); false when its class is full (the caller frees it).
  bool put(void* block, std::size_t bytes) noexcept {
    const std::size_t c = class_of(bytes);
    if (counts_[c] >= max_per_class_) return false;
    auto* n = ::new (block) node{heads_[c]};
    heads_[c] = n;
    ++counts_[c];
    // ASan: a cached block is as dead as a freed one (the link stays readable for us).
    sanitizer::poison(static_cast<char*>(block) + sizeof(node), rounded(bytes) - sizeof(node));
    return true;
  }

 private:
  struct node {
    node* next;
  };
  static std::size_t class_of(std::size_t bytes) noexcept { return (bytes - 1) / granule; }

  std::uint32_t max_per_class_;
  node* heads_[classes] = {};
  std::uint32_t counts_[classes] = {};
};

}  // namespace balrog::detail
