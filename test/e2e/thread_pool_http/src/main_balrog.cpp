// The rewritten build's entry point, the one part written for balrog (balrog_wrap EXCLUDEs it):
// app_main runs on a fiber of balrog::run, so the std::threads that app.cpp and minihttp.h
// start (balrog::thread after the rewrite) are fibers of this one OS thread.
#include <balrog/run.hpp>

#include "app.hpp"

int main(int argc, char** argv) {
  return balrog::run([&] { return app_main(argc, argv); });
}
