// End to end, in C: a plain C program that sleeps with usleep and nanosleep and returns an
// exit status, rewritten by run-main and blocking-calls (the C face), compiled as C, linked
// with the runtime, and run: same output and exit status as the original. The rewritten main
// runs on a fiber: BALROG_C_ON_FIBER (defined only for the rewritten build) asks the runtime.
// REQUIRES: balrog-runtime-lib
// RUN: %check_balrog %s run-main,blocking-calls %t -- -- -std=c11 -D_GNU_SOURCE -I%runtime_include
// RUN: clang-16 -x c -std=c11 -D_GNU_SOURCE -Wall -Werror -I%runtime_include -DBALROG_C_ON_FIBER -c -o %t.o %t.c
// RUN: clang++-16 -o %t.rewritten %t.o %balrog_link_flags
// RUN: %t.rewritten a b > %t.rewritten.out; test $? -eq 3
// RUN: %FileCheck %s --check-prefix=REWRITTEN --input-file=%t.rewritten.out
// RUN: clang-16 -x c -std=c11 -D_GNU_SOURCE -Wall -Werror -o %t.original %s
// RUN: %t.original a b > %t.original.out; test $? -eq 3
// RUN: %FileCheck %s --check-prefix=ORIGINAL --input-file=%t.original.out

#include <stdio.h>
#include <time.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/c/posix_time.h>
// CHECK-FIXES-NEXT: #include <balrog/compat/c/run_main.h>
// CHECK-FIXES-NEXT: #include <stdio.h>

#ifdef BALROG_C_ON_FIBER
#define ON_FIBER balrog_on_fiber()
#else
#define ON_FIBER 0
#endif

int main(int argc, char** argv) {
  struct timespec nap = {0, 2000000};
  usleep(1000);
  // CHECK-FIXES: balrog_usleep(1000);
  printf("args %d %s, slept %d, on a fiber %d\n", argc, argv[1], nanosleep(&nap, NULL), ON_FIBER);
  // CHECK-FIXES: printf("args %d %s, slept %d, on a fiber %d\n", argc, argv[1], balrog_nanosleep(&nap, NULL), ON_FIBER);
  return argc;
}
// REWRITTEN: args 3 a, slept 0, on a fiber 1
// ORIGINAL: args 3 a, slept 0, on a fiber 0
