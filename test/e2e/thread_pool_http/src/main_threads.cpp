// The build as written: app_main on the main thread, every std::thread an OS thread.
#include "app.hpp"

int main(int argc, char** argv) { return app_main(argc, argv); }
