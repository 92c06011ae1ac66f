// The C face of balrog::run_main (balrog/compat/c/run_main.h).
#include "balrog/compat/c/run_main.h"

#include "balrog/detail/execution_context.hpp"
#include "balrog/run_main.hpp"

extern "C" {

int balrog_run_main(int (*fn)(int argc, char** argv, char** envp), int argc, char** argv,
                    char** envp, size_t shards) {
  // run_main's noexcept body ends the process on an exception, as one escaping main() does;
  // a C function throws none.
  return balrog::run_main([&] { return fn(argc, argv, envp); }, {.shards = shards});
}

int balrog_on_fiber(void) { return balrog::detail::current_context().is_fiber() ? 1 : 0; }

}  // extern "C"
