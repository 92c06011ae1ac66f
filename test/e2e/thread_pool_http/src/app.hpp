// The program's body: main_threads.cpp calls it on the main thread, main_balrog.cpp inside
// balrog::run.
#pragma once

int app_main(int argc, char** argv);
