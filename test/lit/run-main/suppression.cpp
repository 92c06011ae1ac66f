// NOBALROG(run-main) on main's line keeps main as it is, with no diagnostic; the other passes
// still rewrite the file. (A main() defined by a macro and marked so is not reported either:
// macro-main-suppressed.cpp.)
// RUN: %check_balrog %s run-main,sync-types %t -- -- %balrog_std_flags

#include <mutex>
// CHECK-FIXES: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <mutex>

std::mutex m;
// CHECK-FIXES: balrog::mutex m;

int main() {  // NOBALROG(run-main): this program enters the runtime itself, later
  return 0;
}
// CHECK-FIXES: int main() {  // NOBALROG(run-main): this program enters the runtime itself, later
// CHECK-FIXES-NEXT: return 0;
// CHECK-FIXES-NEXT: }
