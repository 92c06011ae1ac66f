// A main() that enters the runtime already (hand-written for balrog, or written by this pass)
// is left as it is, as is a file with no main().
// RUN: %check_balrog %s run-main %t -- -- %balrog_std_flags
// RUN: printf 'int helper() { return 1; }\n' > %t.no-main.cpp
// RUN: %balrog_gen --passes=run-main %t.no-main.cpp -- %balrog_std_flags 2>&1 | %count 0

#include <balrog/run.hpp>

int app_main(int argc, char** argv) { return argc > 1 && argv[1] != nullptr ? 1 : 0; }

int main(int argc, char** argv) {
  return balrog::run([&] { return app_main(argc, argv); });
}
