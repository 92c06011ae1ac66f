// Every spelled std synchronization type becomes its balrog twin: variables, parameters, return
// types, new-expressions, sizeof/alignof, casts. The rewritten file compiles against the runtime.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp
// --check fails while a std type is left to rewrite, and passes on the rewritten file:
// RUN: not %balrog_gen --passes=sync-types --check %s -- %balrog_std_flags 2>%t.check
// RUN: %FileCheck %s --check-prefix=CHECK-MODE --input-file=%t.check
// RUN: %balrog_gen --passes=sync-types --check %t.cpp -- %balrog_std_flags

#include <condition_variable>
#include <mutex>
#include <shared_mutex>
// CHECK-FIXES: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/shared_mutex.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

std::mutex m;
// CHECK-FIXES: balrog::mutex m;
std::timed_mutex tm;
// CHECK-FIXES: balrog::timed_mutex tm;
std::shared_mutex sm;
// CHECK-FIXES: balrog::shared_mutex sm;
std::shared_timed_mutex stm;
// CHECK-FIXES: balrog::shared_timed_mutex stm;
std::condition_variable cv;
// CHECK-FIXES: balrog::condition_variable cv;
std::condition_variable_any cva;
// CHECK-FIXES: balrog::condition_variable_any cva;
::std::mutex global_qualified;
// CHECK-FIXES: ::balrog::mutex global_qualified;
static std::mutex ms[4], *mp = &m;
// CHECK-FIXES: static balrog::mutex ms[4], *mp = &m;
extern std::mutex declared_twice;
// CHECK-FIXES: extern balrog::mutex declared_twice;
std::mutex declared_twice;
// CHECK-FIXES: balrog::mutex declared_twice;
class std::mutex elaborated;
// CHECK-FIXES: class balrog::mutex elaborated;

std::mutex& pick(std::mutex& a, std::mutex* b, bool first) { return first ? a : *b; }
// CHECK-FIXES: balrog::mutex& pick(balrog::mutex& a, balrog::mutex* b, bool first) { return first ? a : *b; }
void locked(std::shared_mutex const& s, std::condition_variable&&);
// CHECK-FIXES: void locked(balrog::shared_mutex const& s, balrog::condition_variable&&);
using callback = void (*)(std::timed_mutex&);
// CHECK-FIXES: using callback = void (*)(balrog::timed_mutex&);

int main() {
  std::mutex local;
  // CHECK-FIXES: balrog::mutex local;
  static std::condition_variable_any waiting;
  // CHECK-FIXES: static balrog::condition_variable_any waiting;
  auto* heap = new std::mutex;
  // CHECK-FIXES: auto* heap = new balrog::mutex;
  auto* many = new std::shared_mutex[3];
  // CHECK-FIXES: auto* many = new balrog::shared_mutex[3];
  static_assert(sizeof(std::mutex) > 0 && alignof(std::condition_variable) > 0);
  // CHECK-FIXES: static_assert(sizeof(balrog::mutex) > 0 && alignof(balrog::condition_variable) > 0);
  auto& same = static_cast<std::mutex&>(local);
  // CHECK-FIXES: auto& same = static_cast<balrog::mutex&>(local);
  auto lambda = [](std::mutex& x) -> std::mutex& { return x; };
  // CHECK-FIXES: auto lambda = [](balrog::mutex& x) -> balrog::mutex& { return x; };
  std::lock_guard guard(lambda(same));
  delete heap;
  delete[] many;
  return pick(m, mp, true).try_lock() ? 0 : 1;
}
// CHECK-MODE: declarations.cpp:[[@LINE-50]]:1: {{.*}}'std::mutex' blocks the thread while it waits; rewrite to 'balrog::mutex' [sync-types]
