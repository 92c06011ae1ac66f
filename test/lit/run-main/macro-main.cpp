// A main() defined by a macro is reported, never edited: renaming it would mean editing the
// macro. The error refuses the whole file (the std::mutex that sync-types would rewrite is
// left too: never threads on fibers with nothing to run them) and the run exits 2.
// RUN: %check_balrog --expect-exit 2 %s run-main,sync-types %t -- -- %balrog_std_flags

#include <mutex>

std::mutex m;

#define DEFINE_MAIN(body) \
  int main() { body }

DEFINE_MAIN(return 0;)
// CHECK-MESSAGES: {{.*}}macro-main.cpp: error: a pass reported an error: this translation unit was not rewritten
// CHECK-MESSAGES: :[[@LINE-2]]:1: error: main() is defined by a macro: run-main renames only a main() spelled in the source (define it there, or call balrog::run_main from it by hand) (docs/passes/run-main.md) [run-main]
