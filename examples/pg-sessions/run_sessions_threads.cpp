// run_sessions for the sync build: a std::thread per session.
#include <thread>
#include <vector>

#include "run_sessions.hpp"

void run_sessions(int n, const std::function<void(int)>& session) {
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) threads.emplace_back(session, i);
  for (auto& t : threads) t.join();
}

const char* session_runner() { return "a std::thread each"; }
