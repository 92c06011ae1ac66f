// main(argc, argv, envp), spelled with arrays, whose body is a function-try-block: the new
// main() takes the same three parameters (as pointers), and the try block and each handler
// that flows off its end return 0, as they did in main.
// RUN: %check_balrog %s run-main %t -- -- %balrog_std_flags

#include <stdexcept>

int main(int argc, char* argv[], char* envp[]) try {
  if (argc > 1 && envp[0] != nullptr) throw std::runtime_error(argv[1]);
} catch (const std::runtime_error&) {
  return 3;
} catch (...) {
}
// CHECK-FIXES: int balrog_user_main(int argc, char* argv[], char* envp[]) try {
// CHECK-FIXES-NEXT: if (argc > 1 && envp[0] != nullptr) throw std::runtime_error(argv[1]);
// CHECK-FIXES-NEXT: return 0;  // main()'s implicit return (balrog-gen run-main)
// CHECK-FIXES-NEXT: } catch (const std::runtime_error&) {
// CHECK-FIXES-NEXT: return 3;
// CHECK-FIXES-NEXT: } catch (...) {
// CHECK-FIXES-NEXT: return 0;  // main()'s implicit return (balrog-gen run-main)
// CHECK-FIXES-NEXT: }
// CHECK-FIXES-EMPTY:
// CHECK-FIXES-NEXT: // balrog-gen run-main: the program's main() above runs on a fiber of balrog's runtime
// CHECK-FIXES-NEXT: // (its std::threads are fibers of this thread).
// CHECK-FIXES-NEXT: int main(int argc, char** argv, char** envp) {
// CHECK-FIXES-NEXT:   return balrog::run_main([&] { return balrog_user_main(argc, argv, envp); });
// CHECK-FIXES-NEXT: }
