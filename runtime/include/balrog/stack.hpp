// balrog/stack.hpp — what a fiber's stack is, and the two kinds you can choose from.
//
// Stacks are mmap'd and lazily committed: a fiber pays RSS only for the pages it touches.
// They are pooled per scheduler, so spawning a fiber rarely costs a system call. Cached stacks
// keep the pages they touched (reusing them is then free of page faults).
//
//  guarded (default) — a PROT_NONE guard page below the stack. Running off the end faults on
//    the guard page, and balrog ends the process with a message naming the fiber (the SIGSEGV
//    handler runs on an alternate signal stack). Each guarded stack is two kernel mappings, so
//    vm.max_map_count (65530 by default) caps the number of live guarded fibers near 32,000.
//  dense — no guard page; stacks are carved out of large shared mappings, so one mapping serves
//    many fibers and a million idle fibers fit in memory. A canary word at the bottom of each
//    dense stack is checked whenever the fiber switches out: an overflow that reaches it ends
//    the process with a message naming the fiber, but only after the fact, and an overflow can
//    corrupt a neighbouring stack before that. Use dense stacks for many small, shallow fibers.
//
// Under AddressSanitizer every stack (default or requested) is four times larger: instrumented
// frames carry redzones, and code that fits a stack normally would overflow it.
#pragma once

#include <cstddef>

namespace balrog {

enum class stack_kind : unsigned char { guarded, dense };

// 256 KiB: enough for libpq, OpenSSL and printf-heavy code; costs only the touched pages.
inline constexpr std::size_t default_guarded_stack_size = 256 * 1024;
// 16 KiB: an idle fiber touches one or two pages of it.
inline constexpr std::size_t default_dense_stack_size = 16 * 1024;
// Smaller stacks are rounded up to this.
inline constexpr std::size_t min_stack_size = 8 * 1024;

}  // namespace balrog
