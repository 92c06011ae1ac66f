#include "process_stats.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace demo {

std::size_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      std::size_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

std::size_t raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  return static_cast<std::size_t>(lim.rlim_cur);
}

child::child(const std::vector<std::string>& args) : name_(args.at(0)) {
  std::vector<std::string> copies(args);
  std::string self = "/proc/self/exe";
  std::vector<char*> argv{self.data()};
  for (auto& a : copies) argv.push_back(a.data());
  argv.push_back(nullptr);

  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error("demo: pipe2 failed");
  }
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("demo: fork failed");
  if (pid_ == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    std::perror("demo: execv");
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
}

child::~child() {
  if (pid_ > 0) {
    try {
      stop();
    } catch (...) {
    }
  }
}

std::string child::read_line() {
  for (;;) {
    if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    std::array<char, 4096> buf{};
    const ssize_t n = ::read(from_child_, buf.data(), buf.size());
    if (n <= 0) throw std::runtime_error("demo: the '" + name_ + "' process ended early");
    pending_.append(buf.data(), static_cast<std::size_t>(n));
  }
}

std::string child::finish() {
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = ::read(from_child_, buf.data(), buf.size())) > 0;) {
    pending_.append(buf.data(), static_cast<std::size_t>(n));
  }
  stop();
  return std::move(pending_);
}

void child::stop() {
  if (pid_ <= 0) return;
  ::close(to_child_);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  ::close(from_child_);
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("demo: the '" + name_ + "' process failed");
  }
}

}  // namespace demo
