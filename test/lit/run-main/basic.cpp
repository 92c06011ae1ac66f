// RUN: %check_balrog %s run-main %t -- -- %balrog_std_flags

void example_blocking_call(int);
void example_replacement(int);
// CHECK-FIXES: #include "example.hpp"

void use() {
  example_blocking_call(1);
  // CHECK-FIXES: example_replacement(1);
  example_blocking_call(2);  // NOBALROG(run-main)
  // CHECK-FIXES: example_blocking_call(2);  // NOBALROG(run-main)
}
