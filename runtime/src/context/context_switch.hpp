// The machine context switch under the scheduler: save the running context's callee-saved
// registers on its own stack, remember its stack pointer, load another one, continue there.
//
// Two implementations behind one interface (runtime/src/context/context_switch.cpp):
//  - owned (BALROG_OWNED_SWITCH, the default on x86-64 System V): 17 instructions of assembly
//    in the runtime's own object, hidden, called directly (no PLT). It saves only what the ABI
//    says a callee must preserve (rbx, rbp, r12-r15; rsp is the saved pointer itself) and
//    continues the arriving context at its saved return address: with `ret` when the switch
//    was called (switch_context, jump_context), with an indirect `jmp` when it was jumped to
//    (tail_switch_context; see BALROG_RETURN_ and BALROG_CONTINUE_ in context_switch.cpp).
//    Floating-point control state (MXCSR, the x87 control word) is *not* switched: fibers share
//    their thread's rounding mode and exception masks, as threads of one process share the
//    code that set them. Configure with -DBALROG_SAVE_FP_CONTROL=ON to give each fiber its own
//    (two more loads and stores per switch; Boost.Context always pays them).
//  - Boost.Context's fcontext (jump_fcontext/make_fcontext): the portable fallback, for other
//    architectures or -DBALROG_CONTEXT_SWITCH=boost.
//
// The saved context is a stack pointer `sp` into the suspended context's own stack. On x86-64
// both implementations leave the same save area there (Boost's layout, which the in-process
// backtraces and tools/gdb/balrog_gdb.py read):
//   sp+0x00 MXCSR (4 bytes) and x87 control word (2 bytes), only when saved
//   sp+0x10 r12, +0x18 r13, +0x20 r14, +0x28 r15, +0x30 rbx, +0x38 rbp, +0x40 return address
#pragma once

#include <cstddef>

// A *tail switch*: the switch is the last thing the switching function does, so the compiler
// turns the call into a jump and the arriving context continues straight in its caller (see
// scheduler::yield). Nothing may then run on the arriving side after the switch, which holds
// with the owned switch outside the sanitizer builds (ASan and TSan are told on arrival).
#if BALROG_OWNED_SWITCH && !defined(BALROG_ASAN) && !defined(BALROG_TSAN)
#define BALROG_TAIL_SWITCH 1
#else
#define BALROG_TAIL_SWITCH 0
#endif

#if BALROG_OWNED_SWITCH
extern "C" {
// Saves the running context, stores its stack pointer in *save, continues `to`.
void balrog_switch_context(void** save, void* to) noexcept;
// The same, for a tail switch (the last call of its caller, compiled to a jump).
void balrog_tail_switch_context(void** save, void* to) noexcept;
// The same, for the first switch to a fresh context (make_context).
void balrog_start_context(void** save, void* to) noexcept;
// Continues `to`, saving nothing: the running context never runs again (a fiber's exit).
[[noreturn]] void balrog_jump_context(void* to) noexcept;
}
#endif

namespace balrog::detail {

// A first frame on a fresh stack whose top (highest address, exclusive) is `stack_top`: the
// first switch to the returned context calls entry(arg) there, which must never return. The
// outermost frame (balrog_context_start) ends the chain for frame-pointer walks (rbp = 0) and
// for CFI unwinders (its return address is undefined), so backtraces stop cleanly.
void* make_context(void* stack_top, std::size_t stack_size, void (*entry)(void*),
                   void* arg) noexcept;

#if BALROG_OWNED_SWITCH
[[gnu::always_inline]] inline void switch_context(void** save, void* to) noexcept {
  balrog_switch_context(save, to);
}
[[gnu::always_inline]] inline void tail_switch_context(void** save, void* to) noexcept {
  balrog_tail_switch_context(save, to);
}
[[gnu::always_inline]] inline void start_context(void** save, void* to) noexcept {
  balrog_start_context(save, to);
}
// jump_context reached with a jump, not a call: its `ret` then pops the return-stack-buffer
// entry that the context's balrog_start_context left (see there). For a fiber's end only.
[[noreturn, gnu::always_inline]] inline void jump_context_from_end(void* to) noexcept {
  asm volatile("jmp balrog_jump_context" : : "D"(to) : "memory");
  __builtin_unreachable();
}
[[noreturn, gnu::always_inline]] inline void jump_context(void* to) noexcept {
  balrog_jump_context(to);
}
#else
void switch_context(void** save, void* to) noexcept;
inline void tail_switch_context(void** save, void* to) noexcept { switch_context(save, to); }
inline void start_context(void** save, void* to) noexcept { switch_context(save, to); }
[[noreturn]] void jump_context(void* to) noexcept;
[[noreturn]] inline void jump_context_from_end(void* to) noexcept { jump_context(to); }
#endif

}  // namespace balrog::detail
