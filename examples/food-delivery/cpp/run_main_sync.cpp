// run_main for the build as written: main's body on the main thread; a std::thread is a thread.
#include "run_main.hpp"

int run_main(const std::function<int()>& body) { return body(); }

const char* thread_kind() { return "a std::thread each"; }
