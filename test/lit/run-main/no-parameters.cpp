// main() without parameters: the new main() has none either and its lambda captures nothing.
// A main() that ends with a return gets no extra one. A forward declaration of main in the
// file is renamed with it (it would clash with the new main() otherwise).
// RUN: %check_balrog %s run-main %t -- -- %balrog_std_flags

int main();
// CHECK-FIXES: int balrog_user_main();

int twice(int x) { return 2 * x; }

int main() {
  return twice(0);
}
// CHECK-FIXES: int balrog_user_main() {
// CHECK-FIXES-NEXT: return twice(0);
// CHECK-FIXES-NEXT: }
// CHECK-FIXES-EMPTY:
// CHECK-FIXES-NEXT: // balrog-gen run-main: the program's main() above runs on a fiber of balrog's runtime
// CHECK-FIXES-NEXT: // (its std::threads are fibers of this thread).
// CHECK-FIXES-NEXT: int main() {
// CHECK-FIXES-NEXT:   return balrog::run_main([] { return balrog_user_main(); });
// CHECK-FIXES-NEXT: }
