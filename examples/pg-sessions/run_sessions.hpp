// How the sessions are started: the one difference between the two builds that is not balrog-gen's.
//
// balrog-gen rewrites calls and types (PQexec -> balrog::compat::PQexec, std::mutex ->
// balrog::mutex), not the program's concurrency model: someone has to decide where each
// session runs. sessions.cpp calls run_sessions(); each build links one of its two versions:
//
//   run_sessions_threads.cpp   a std::thread per session        (pg_sessions_sync)
//   run_sessions_fibers.cpp    balrog::run, a fiber per session  (pg_sessions_balrog)
#pragma once

#include <functional>

// Runs session(0) ... session(n - 1) concurrently and returns when all of them have returned.
void run_sessions(int n, const std::function<void(int)>& session);

// What run_sessions starts each session on, for the program's report ("std::thread").
const char* session_runner();
