#include "stack/overflow_guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "stack/stack_source.hpp"

namespace balrog::detail {

namespace {

// How far below a stack a fault still counts as its overflow: a frame larger than the guard
// page jumps over it.
constexpr std::size_t overflow_reach = 64 * 1024;

struct sigaction previous_action {};

// --- async-signal-safe output -------------------------------------------------------------

void write_all(const char* s, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}
void write_str(const char* s) noexcept { write_all(s, std::strlen(s)); }
void write_num(std::uint64_t v) noexcept {
  char buf[24];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  write_all(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

void write_report(const overflow_facts& f, const char* how) noexcept {
  write_str("balrog: stack overflow in fiber '");
  if (f.name != nullptr) {
    write_str(f.name);
  } else {
    write_str("fiber-");  // the default name, which nobody formatted yet
    write_num(f.id);
  }
  write_str("' (#");
  write_num(f.id);
  write_str("): it used all of its ");
  write_num(f.stack_size);
  write_str("-byte stack");
  write_str(how);
  write_str(". Spawn it with a larger fiber_options::stack_size.\n");
}

bool is_overflow(const overflow_facts& f, const void* addr) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  const auto lowest = reinterpret_cast<std::uintptr_t>(f.stack_lowest);
  return a < lowest && lowest - a <= overflow_reach;
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  const overflow_facts* f = running_overflow_facts();
  if (f != nullptr && is_overflow(*f, info->si_addr)) {
    write_report(*f, " (caught by its guard page)");
    // Let the default action end the process (and dump core) when the instruction re-faults.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGSEGV, &dfl, nullptr);
    return;
  }
  // Not ours: hand the fault to whoever handled SIGSEGV before us.
  if ((previous_action.sa_flags & SA_SIGINFO) != 0 && previous_action.sa_sigaction != nullptr) {
    previous_action.sa_sigaction(sig, info, uctx);
    return;
  }
  if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN &&
      previous_action.sa_handler != nullptr) {
    previous_action.sa_handler(sig);
    return;
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGSEGV, &dfl, nullptr);
}

void install_process_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGSEGV, &sa, &previous_action);
}

}  // namespace

overflow_guard::overflow_guard() {
  static std::once_flag once;
  std::call_once(once, install_process_handler);

  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) {
    return;  // this thread already has one (ASan installs its own, for instance)
  }
  // The handler writes a few hundred bytes of output; 64 KiB leaves room for a chained handler.
  altstack_size_ = 64 * 1024;
  altstack_ =
      ::mmap(nullptr, altstack_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (altstack_ == MAP_FAILED) {
    altstack_ = nullptr;
    return;  // overflow then dies without the message; nothing else is affected
  }
  stack_t ss{};
  ss.ss_sp = altstack_;
  ss.ss_size = altstack_size_;
  installed_ = ::sigaltstack(&ss, nullptr) == 0;
}

overflow_guard::~overflow_guard() {
  if (installed_) {
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    ::sigaltstack(&ss, nullptr);
  }
  if (altstack_ != nullptr) ::munmap(altstack_, altstack_size_);
}

void report_dense_overflow(const overflow_facts& facts) noexcept {
  write_report(facts,
               " (its dense stack's canary was overwritten; neighbouring stacks may be corrupt)");
  std::abort();
}

}  // namespace balrog::detail
