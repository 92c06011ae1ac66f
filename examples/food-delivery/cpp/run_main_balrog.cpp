// run_main for the balrog_wrap() build: main's body on a fiber of balrog::run, so the program's
// std::threads (balrog::thread after balrog-gen) are fibers of that one thread.
#include <balrog/run.hpp>

#include "run_main.hpp"

int run_main(const std::function<int()>& body) {
  int status = 1;
  balrog::run([&] { status = body(); });
  return status;
}

const char* thread_kind() { return "a fiber each (balrog::thread), all on one thread"; }
