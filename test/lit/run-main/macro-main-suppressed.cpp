// A main() defined by a macro, on a line marked NOBALROG(run-main): not reported, not edited,
// and the run succeeds.
// RUN: %check_balrog %s run-main %t -- -- %balrog_std_flags

#define DEFINE_MAIN(body) \
  int main() { body }

DEFINE_MAIN(return 0;)  // NOBALROG(run-main)
