// Measuring the demo: peak memory of this process, file-descriptor limits, and child processes
// (each mode runs in a fresh process so each peak is its own).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace demo {

// VmHWM from /proc/self/status, in bytes (0 if unreadable).
std::size_t peak_rss_bytes();

// Raises the soft RLIMIT_NOFILE to the hard limit (10,000 sockets need more than the usual
// 1,024) and returns the new soft limit.
std::size_t raise_fd_limit();

// A child process running this executable with some arguments.
class child {
 public:
  explicit child(const std::vector<std::string>& args);
  ~child();
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  // Reads one line of the child's stdout (without the newline); throws at end of file.
  std::string read_line();
  // Reads the rest of the child's stdout, waits for it to exit, throws unless it exited 0.
  std::string finish();
  // Closes the child's stdin (the echo server stops on that) and waits for it.
  void stop();

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string name_;
  std::string pending_;
};

}  // namespace demo
