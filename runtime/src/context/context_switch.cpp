#include "context/context_switch.hpp"

#include <cstdint>
#include <cstring>

#if !BALROG_OWNED_SWITCH
#include <boost/context/detail/fcontext.hpp>
#endif

#if BALROG_OWNED_SWITCH

#if !defined(__x86_64__) || defined(_WIN32)
#error "the owned context switch is x86-64 System V only: use -DBALROG_CONTEXT_SWITCH=boost"
#endif

// MXCSR and the x87 control word go to the save area's first 8 bytes, as Boost's do.
#if BALROG_SAVE_FP_CONTROL
#define BALROG_SAVE_FP_ "  stmxcsr (%rsp)\n  fnstcw 0x4(%rsp)\n"
#define BALROG_LOAD_FP_ "  ldmxcsr (%rsp)\n  fldcw 0x4(%rsp)\n"
#else
#define BALROG_SAVE_FP_ ""
#define BALROG_LOAD_FP_ ""
#endif

// How the arriving context continues: at its saved return address, popped by the switch.
//  - `ret` (BALROG_RETURN_), for a switch that was called and is returned from (switch_to,
//    every wait's suspension; a fiber's exit): the call pushed one return-stack-buffer entry
//    and the `ret` pops it, so the buffer stays balanced and the returns that follow on the
//    arriving side (out of park, wait, park_on, the primitive) are predicted as before. Both
//    sides of a wait usually suspend from the same call site, so the `ret` itself is predicted
//    too. An unbalanced buffer costs a misprediction on every later return of the arriving
//    context's call chain (the channel ping-pong lost 27 ns per round trip to it).
//  - an indirect `jmp` (BALROG_CONTINUE_), for the tail switch of a yield (scheduler.hpp),
//    which is jumped to, not called, and continues in the yielding code's caller: there a
//    `ret` would be predicted from the return-stack buffer, which holds the *leaving*
//    context's return address, and that differs between two fibers yielding to each other, so
//    it would mispredict on every switch. An indirect `jmp` is predicted from its own history,
//    as Boost.Context's jump_fcontext's is.
#define BALROG_RETURN_ "  ret\n"
#define BALROG_CONTINUE_          \
  "  popq %rcx\n"                 \
  "  .cfi_adjust_cfa_offset -8\n" \
  "  .cfi_register %rip, %rcx\n"  \
  "  jmp *%rcx\n"

// The CFI says where each saved register is at every instruction. Both halves of the switch
// see the same layout (the leaving stack's, then the arriving one's), so an unwinder stopped
// anywhere in it (a watchdog signal) finds a consistent frame: the arriving context's caller
// once the stack pointer moved.
#define BALROG_POP_(reg) "  popq %" reg "\n  .cfi_adjust_cfa_offset -8\n  .cfi_restore %" reg "\n"
#define BALROG_RESTORE_                                                                     \
  BALROG_LOAD_FP_                                                                           \
  "  leaq 0x10(%rsp), %rsp\n"                                                               \
  "  .cfi_adjust_cfa_offset -16\n" BALROG_POP_("r12") BALROG_POP_("r13") BALROG_POP_("r14") \
      BALROG_POP_("r15") BALROG_POP_("rbx") BALROG_POP_("rbp")
#define BALROG_PUSH_(reg) \
  "  pushq %" reg "\n  .cfi_adjust_cfa_offset 8\n  .cfi_rel_offset %" reg ", 0\n"
// clang-format off
#define BALROG_SAVE_                                                                   \
  BALROG_PUSH_("rbp") BALROG_PUSH_("rbx") BALROG_PUSH_("r15")                          \
  BALROG_PUSH_("r14") BALROG_PUSH_("r13") BALROG_PUSH_("r12")                          \
  "  leaq -0x10(%rsp), %rsp\n"                                                         \
  "  .cfi_adjust_cfa_offset 16\n"                                                      \
  BALROG_SAVE_FP_                                                                      \
  "  movq %rsp, (%rdi)\n"                                                              \
  "  movq %rsi, %rsp\n"
// clang-format on

// clang-format off
asm(
    "  .text\n"

    // void balrog_switch_context(void** save /* rdi */, void* to /* rsi */)
    "  .p2align 4\n"
    "  .globl balrog_switch_context\n"
    "  .hidden balrog_switch_context\n"
    "  .type balrog_switch_context, @function\n"
    "balrog_switch_context:\n"
    "  .cfi_startproc\n"
    BALROG_SAVE_
    BALROG_RESTORE_
    BALROG_RETURN_
    "  .cfi_endproc\n"
    "  .size balrog_switch_context, .-balrog_switch_context\n"

    // void balrog_tail_switch_context(void** save /* rdi */, void* to /* rsi */)
    "  .p2align 4\n"
    "  .globl balrog_tail_switch_context\n"
    "  .hidden balrog_tail_switch_context\n"
    "  .type balrog_tail_switch_context, @function\n"
    "balrog_tail_switch_context:\n"
    "  .cfi_startproc\n"
    BALROG_SAVE_
    BALROG_RESTORE_
    BALROG_CONTINUE_
    "  .cfi_endproc\n"
    "  .size balrog_tail_switch_context, .-balrog_tail_switch_context\n"

    // void balrog_start_context(void** save /* rdi */, void* to /* rsi */): the first switch
    // to a fresh context (make_context). Its own indirect jump always goes to
    // balrog_context_start, so it is predicted, where a `ret` would mispredict; the entry of its
    // call stays in the return-stack buffer for the fiber's end (fiber_exit jumps to
    // balrog_jump_context, whose `ret` pops it: when the fiber ends back into the context that
    // started it, as a spawn + join does, that return is predicted too).
    "  .p2align 4\n"
    "  .globl balrog_start_context\n"
    "  .hidden balrog_start_context\n"
    "  .type balrog_start_context, @function\n"
    "balrog_start_context:\n"
    "  .cfi_startproc\n"
    BALROG_SAVE_
    BALROG_RESTORE_
    BALROG_CONTINUE_
    "  .cfi_endproc\n"
    "  .size balrog_start_context, .-balrog_start_context\n"

    // void balrog_jump_context(void* to /* rdi */): the leaving context is never resumed.
    "  .p2align 4\n"
    "  .globl balrog_jump_context\n"
    "  .hidden balrog_jump_context\n"
    "  .type balrog_jump_context, @function\n"
    "balrog_jump_context:\n"
    "  .cfi_startproc\n"
    "  .cfi_undefined %rip\n"
    "  movq %rdi, %rsp\n"
    "  .cfi_adjust_cfa_offset 0x40\n"
    BALROG_RESTORE_
    BALROG_RETURN_
    "  .cfi_endproc\n"
    "  .size balrog_jump_context, .-balrog_jump_context\n"

    // The outermost frame of every fiber: entered by the switch with r12 = arg, r13 = entry
    // (make_context), rbp = 0 and rsp 16-byte aligned. Its return address is undefined: CFI
    // unwinders (gdb, _Unwind_Backtrace) stop here. The entry is called without `call`: the
    // return address a call would push (the ud2 below) is pushed by hand and the entry jumped
    // to, so the fiber's first frame leaves no entry in the return-stack buffer. The entry
    // never returns; the fiber ends with jump_context, whose `ret` pops the entry of its own
    // call, and the joiner it continues returns through its own callers with the buffer as it
    // left it (one entry per call left unreturned would cost a misprediction on every return
    // of the arriving context's chain: a spawn + join paid them all).
    "  .p2align 4\n"
    "  .globl balrog_context_start\n"
    "  .hidden balrog_context_start\n"
    "  .type balrog_context_start, @function\n"
    "balrog_context_start:\n"
    "  .cfi_startproc\n"
    "  .cfi_undefined %rip\n"
    "  movq %r12, %rdi\n"
    "  leaq 1f(%rip), %rax\n"
    "  pushq %rax\n"
    "  .cfi_adjust_cfa_offset 8\n"
    "  jmp *%r13\n"
    "1:\n"
    "  ud2\n"
    "  .cfi_endproc\n"
    "  .size balrog_context_start, .-balrog_context_start\n");
// clang-format on

extern "C" void balrog_context_start();

namespace balrog::detail {

void* make_context(void* stack_top, std::size_t /*stack_size*/, void (*entry)(void*),
                   void* arg) noexcept {
  const std::uintptr_t top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  // The save area (0x48 bytes: FP control, unused, r12..rbp, return address) ends 16 bytes
  // below the top, so balrog_context_start runs with rsp 16-byte aligned, as a call needs; the
  // two words above it stay zero.
  auto* sp = reinterpret_cast<std::uintptr_t*>(top - 0x58);
  // Only what balrog_context_start and the frame walks read: r14, r15 and rbx are loaded into
  // registers nobody reads before fiber_main's prologue saves them (spawn is hot).
  sp[0] = 0;                                        // FP control (overwritten below if saved)
  sp[2] = reinterpret_cast<std::uintptr_t>(arg);    // r12
  sp[3] = reinterpret_cast<std::uintptr_t>(entry);  // r13
  sp[7] = 0;                                        // rbp: ends frame-pointer walks
  sp[8] = reinterpret_cast<std::uintptr_t>(&balrog_context_start);
  sp[9] = 0;
  sp[10] = 0;
#if BALROG_SAVE_FP_CONTROL
  // A new fiber starts with its creator's floating-point control state.
  asm volatile(
      "stmxcsr (%0)\n\t"
      "fnstcw 0x4(%0)"
      :
      : "r"(sp)
      : "memory");
#endif
  return sp;
}

}  // namespace balrog::detail

#else  // Boost.Context's fcontext

namespace balrog::detail {

namespace fc = boost::context::detail;

namespace {

struct start_args {
  void (*entry)(void*);
  void* arg;
};

// Every jump passes, as its data, where the leaving context's fcontext is to be stored; the
// arriving side stores it (jump_fcontext hands it over only on arrival).
void context_start(fc::transfer_t t) noexcept {
  const start_args a = *static_cast<const start_args*>(t.data);
  t = fc::jump_fcontext(t.fctx, nullptr);  // back to make_context; the first switch comes next
  *static_cast<void**>(t.data) = t.fctx;
  a.entry(a.arg);
  __builtin_unreachable();
}

thread_local void* discarded_context = nullptr;

}  // namespace

void* make_context(void* stack_top, std::size_t stack_size, void (*entry)(void*),
                   void* arg) noexcept {
  start_args a{entry, arg};
  // make_fcontext leaves the saved rbp unset; zero, it ends frame-pointer walks at the entry
  // (a reused stack would otherwise offer a stale chain).
  constexpr std::size_t cleared = 256;
  std::memset(static_cast<char*>(stack_top) - cleared, 0, cleared);
  const fc::fcontext_t fresh = fc::make_fcontext(stack_top, stack_size, &context_start);
  return fc::jump_fcontext(fresh, &a).fctx;
}

void switch_context(void** save, void* to) noexcept {
  const fc::transfer_t t = fc::jump_fcontext(to, save);
  *static_cast<void**>(t.data) = t.fctx;
}

void jump_context(void* to) noexcept {
  fc::jump_fcontext(to, &discarded_context);
  __builtin_unreachable();
}

}  // namespace balrog::detail

#endif
