// main(int) (clang accepts it, with -Wmain's warning) is none of the forms run-main knows: it
// is reported and the file is left as it is.
// RUN: %check_balrog --expect-exit 2 %s run-main %t -- -- %balrog_std_flags -Wno-main

int main(int argc) { return argc; }
// CHECK-MESSAGES: {{.*}}unusual-signature.cpp: error: a pass reported an error: this translation unit was not rewritten
// CHECK-MESSAGES: :[[@LINE-2]]:5: error: main() takes 1 parameter; run-main knows main(), main(argc, argv) and main(argc, argv, envp) (docs/passes/run-main.md) [run-main]
