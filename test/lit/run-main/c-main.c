// run-main on a C file: main is renamed balrog_user_main and the main() written after it runs
// it through balrog_run_main (balrog/compat/c/run_main.h), in C (no lambda, C comments). A
// main that flows off its end returns 0. The result compiles as C99 (pedantic): nothing C++.
// A second run (check_balrog.py does it) changes nothing. c-run-on-fibers.c runs one.
// RUN: %check_balrog %s run-main %t -- -- -std=c99 -I%runtime_include
// RUN: clang-16 -x c -std=c99 -pedantic -Wall -Werror -fsyntax-only -I%runtime_include %t.c
// RUN: sed 's|//.*||' %t.c | %not grep -E '::|\.hpp|\[&\]'

#include <stdio.h>
// CHECK-FIXES: #include <balrog/compat/c/run_main.h>
// CHECK-FIXES-NEXT: #include <stdio.h>

int main(int argc, char** argv) {
  if (argc > 3) return 1;
  printf("%s\n", argv[0]);
}
// CHECK-FIXES: int balrog_user_main(int argc, char** argv) {
// CHECK-FIXES-NEXT: if (argc > 3) return 1;
// CHECK-FIXES-NEXT: printf("%s\n", argv[0]);
// CHECK-FIXES-NEXT: return 0; /* main()'s implicit return (balrog-gen run-main) */
// CHECK-FIXES-NEXT: }
// CHECK-FIXES-EMPTY:
// CHECK-FIXES-NEXT: /* balrog-gen run-main: the program's main() above runs on a fiber of balrog's runtime. */
// CHECK-FIXES-NEXT: static int balrog_main_entry(int argc, char** argv, char** envp) {
// CHECK-FIXES-NEXT:   (void)envp;
// CHECK-FIXES-NEXT:   return balrog_user_main(argc, argv);
// CHECK-FIXES-NEXT: }
// CHECK-FIXES-NEXT: int main(int argc, char** argv) {
// CHECK-FIXES-NEXT:   return balrog_run_main(balrog_main_entry, argc, argv, NULL, 1);
// CHECK-FIXES-NEXT: }
