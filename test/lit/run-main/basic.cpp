// main(argc, argv) is renamed balrog_user_main and a main() that runs it on the runtime is
// written after it, with the include. A main that flows off its end returns 0: the renamed
// function says so (off the end of another function it would be undefined). A second run
// (check_balrog.py does it) changes nothing: the new main() already enters the runtime.
// RUN: %check_balrog %s run-main %t -- -- %balrog_std_flags

#include <cstdio>
#include <thread>
// CHECK-FIXES: #include <balrog/run_main.hpp>
// CHECK-FIXES-NEXT: #include <cstdio>
// CHECK-FIXES-NEXT: #include <thread>

int main(int argc, char** argv) {
  std::thread t([&] { std::printf("%s\n", argv[0]); });
  t.join();
  if (argc > 3) return 1;
}
// CHECK-FIXES: int balrog_user_main(int argc, char** argv) {
// CHECK-FIXES-NEXT: std::thread t([&] { std::printf("%s\n", argv[0]); });
// CHECK-FIXES-NEXT: t.join();
// CHECK-FIXES-NEXT: if (argc > 3) return 1;
// CHECK-FIXES-NEXT: return 0;  // main()'s implicit return (balrog-gen run-main)
// CHECK-FIXES-NEXT: }
// CHECK-FIXES-EMPTY:
// CHECK-FIXES-NEXT: // balrog-gen run-main: the program's main() above runs on a fiber of balrog's runtime
// CHECK-FIXES-NEXT: // (its std::threads are fibers of this thread).
// CHECK-FIXES-NEXT: int main(int argc, char** argv) {
// CHECK-FIXES-NEXT:   return balrog::run_main([&] { return balrog_user_main(argc, argv); });
// CHECK-FIXES-NEXT: }

int helper() { return 2; }
// CHECK-FIXES: int helper() { return 2; }
