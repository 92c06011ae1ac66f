// run_sessions for the balrog build: every session on a fiber, all on the calling thread.
#include <string>
#include <vector>

#include <balrog/fiber.hpp>
#include <balrog/run.hpp>

#include "run_sessions.hpp"

void run_sessions(int n, const std::function<void(int)>& session) {
  balrog::run([&] {
    std::vector<balrog::fiber<void>> fibers;
    fibers.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      fibers.push_back(
          balrog::spawn([&session, i] { session(i); }, {.name = "session-" + std::to_string(i)}));
    }
    for (auto& f : fibers) f.join();
  });
}

const char* session_runner() { return "a fiber each, all on one thread"; }
