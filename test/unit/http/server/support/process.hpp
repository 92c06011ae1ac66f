// Peers as child processes (curl, Python) for the loopback tests.
//
//   auto r = peer({"curl", "-sS", url});    // on a fiber: waits on the offload pool
//   EXPECT_EQ(r.status, 0) << r.output;
//
// run_process() blocks its thread; peer() runs it through balrog::offload so the server's
// fibers keep running meanwhile. Output is stdout and stderr together. A process still running
// at `limit` is killed (status -1, timed_out): a hang fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace balrog::http::test {

struct process_result {
  int status = -1;  // exit status, or -1 when killed or not started
  bool timed_out = false;
  std::string output;
};

process_result run_process(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                           const std::string& input = {});

// run_process on the offload pool (from a fiber or a plain thread).
process_result peer(std::vector<std::string> argv,
                    std::chrono::milliseconds limit = std::chrono::seconds(60),
                    std::string input = {});

// A peer that keeps running while the test talks to it (a Python WebSocket server): started
// with its stdout on a pipe; read_line() waits for its next line; the destructor kills it.
class background_process {
 public:
  explicit background_process(const std::vector<std::string>& argv);
  ~background_process();
  background_process(const background_process&) = delete;
  background_process& operator=(const background_process&) = delete;
  // The next line of its stdout (without '\n'); empty at its end or after `limit`.
  std::string read_line(std::chrono::milliseconds limit = std::chrono::seconds(30));
  // Waits for it to exit (killing it after `limit`); returns the exit status (-1: killed).
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(30));

 private:
  int pid_ = -1;
  int out_ = -1;
  std::string pending_;
};

// The Python peers' directory (test/unit/http/server/peers) and interpreter.
std::string peer_script(const std::string& name);
inline const char* const python = "/usr/bin/python3";

}  // namespace balrog::http::test
