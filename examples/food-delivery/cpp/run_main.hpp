// Where main's body runs: the one difference between the two builds that is not balrog-gen's.
//
// balrog-gen rewrites calls and types (PQexecParams -> balrog::compat::PQexecParams,
// std::thread -> balrog::thread), not where the program runs. A balrog::thread is a fiber
// when it is started on a fiber, and a real thread otherwise; so the wrapped build runs main's
// body inside balrog::run, and the thread per order it starts becomes a fiber per order:
//
//   run_main_sync.cpp     calls the body                    (place_orders_sync)
//   run_main_balrog.cpp   balrog::run, the body on a fiber  (place_orders_balrog)
#pragma once

#include <functional>

// Runs body() and returns what it returns.
int run_main(const std::function<int()>& body);

// What a std::thread of the program is, in this build ("an OS thread").
const char* thread_kind();
