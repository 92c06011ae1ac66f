// Turns a fiber stack overflow into a message that names the fiber.
//
// A guarded stack overflow faults on the guard page. The fault cannot be handled on the
// overflowing stack, so every thread that runs a scheduler gets an alternate signal stack,
// and one process-wide SIGSEGV handler checks whether the faulting address is just below the
// running fiber's stack. If so it prints the fiber's name and id and lets the default action
// end the process; any other fault goes to the handler that was installed before ours (ASan's,
// for instance) or to the default action.
#pragma once

#include <cstddef>
#include <cstdint>

namespace balrog::detail {

// What the signal handler may read about the running fiber. Plain data, async-signal-safe.
struct overflow_facts {
  const void* stack_lowest = nullptr;
  std::size_t stack_size = 0;
  const char* name = nullptr;  // null: the default name, "fiber-<id>"
  std::uint64_t id = 0;
};

// Installs the alternate signal stack for this thread (and, once, the process handler);
// restores the previous alternate stack on destruction.
class overflow_guard {
 public:
  overflow_guard();
  ~overflow_guard();
  overflow_guard(const overflow_guard&) = delete;
  overflow_guard& operator=(const overflow_guard&) = delete;

 private:
  void* altstack_ = nullptr;
  std::size_t altstack_size_ = 0;
  bool installed_ = false;
};

// The running fiber's facts, for the handler; null when no fiber runs on this thread.
// Defined by the scheduler (it knows which fiber runs); must be async-signal-safe.
const overflow_facts* running_overflow_facts() noexcept;

// Reports an overflow that a dense stack's canary revealed, then aborts.
[[noreturn]] void report_dense_overflow(const overflow_facts& facts) noexcept;

}  // namespace balrog::detail
