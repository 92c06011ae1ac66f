// Every entry of the posix-time map; the rewritten file compiles.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <time.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_time.hpp>
// CHECK-FIXES-NEXT: #include <time.h>

int naps() {
  unsigned left = sleep(1);
  // CHECK-FIXES: unsigned left = balrog::compat::sleep(1);
  usleep(1000);
  // CHECK-FIXES: balrog::compat::usleep(1000);
  timespec req{0, 1000};
  timespec rem{};
  return nanosleep(&req, &rem) + static_cast<int>(left);
  // CHECK-FIXES: return balrog::compat::nanosleep(&req, &rem) + static_cast<int>(left);
}
