// int main(void) { ... } on one line: the implicit return goes before its closing brace, the
// new main() on the lines after it.
// RUN: %check_balrog %s run-main %t -- -- %balrog_std_flags

int main(void) { int x = 0; (void)x; }
// CHECK-FIXES: int balrog_user_main(void) { int x = 0; (void)x; return 0; }
// CHECK-FIXES-EMPTY:
// CHECK-FIXES-NEXT: // balrog-gen run-main: the program's main() above runs on a fiber of balrog's runtime
// CHECK-FIXES-NEXT: // (its std::threads are fibers of this thread).
// CHECK-FIXES-NEXT: int main() {
// CHECK-FIXES-NEXT:   return balrog::run_main([] { return balrog_user_main(); });
// CHECK-FIXES-NEXT: }
