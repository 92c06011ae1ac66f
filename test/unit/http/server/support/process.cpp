#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "balrog/offload.hpp"

extern char** environ;

namespace balrog::http::test {

namespace {

using clock_type = std::chrono::steady_clock;

pid_t spawn_with_pipes(const std::vector<std::string>& argv, int* in_fd, int* out_fd) {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) return -1;
  if (in_fd != nullptr && ::pipe2(in, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  if (in_fd != nullptr) {
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (in_fd != nullptr) ::close(in[0]);
  if (err != 0) {
    ::close(out[0]);
    if (in_fd != nullptr) ::close(in[1]);
    return -1;
  }
  *out_fd = out[0];
  if (in_fd != nullptr) *in_fd = in[1];
  return pid;
}

int reap(pid_t pid, clock_type::time_point until) {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0) return -1;
    if (clock_type::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    ::usleep(2000);
  }
}

}  // namespace

process_result run_process(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                           const std::string& input) {
  process_result result;
  int in_fd = -1;
  int out_fd = -1;
  const pid_t pid = spawn_with_pipes(argv, &in_fd, &out_fd);
  if (pid < 0) {
    result.output = "could not start " + argv[0] + ": " + std::strerror(errno);
    return result;
  }
  const auto until = clock_type::now() + limit;
  std::size_t written = 0;
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  } else {
    ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  char buf[16384];
  for (;;) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      break;
    }
    if (::poll(fds, in_fd >= 0 ? 2 : 1, static_cast<int>(left)) < 0 && errno != EINTR) break;
    if (in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) written = input.size();
      if (written == input.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::read(out_fd, buf, sizeof buf);
      if (n <= 0) break;
      result.output.append(buf, static_cast<std::size_t>(n));
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  ::close(out_fd);
  result.status = reap(pid, result.timed_out ? clock_type::now() : until);
  if (result.timed_out) result.status = -1;
  return result;
}

process_result peer(std::vector<std::string> argv, std::chrono::milliseconds limit,
                    std::string input) {
  return balrog::offload([argv = std::move(argv), limit, input = std::move(input)] {
    return run_process(argv, limit, input);
  });
}

background_process::background_process(const std::vector<std::string>& argv) {
  pid_ = spawn_with_pipes(argv, nullptr, &out_);
}

background_process::~background_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (out_ >= 0) ::close(out_);
}

std::string background_process::read_line(std::chrono::milliseconds limit) {
  const auto until = clock_type::now() + limit;
  for (;;) {
    if (const std::size_t nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()).count();
    if (left <= 0 || out_ < 0) return {};
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return std::exchange(pending_, {});
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

int background_process::wait(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  const int status = reap(pid_, clock_type::now() + limit);
  pid_ = -1;
  return status;
}

std::string peer_script(const std::string& name) {
  return std::string(BALROG_HTTP_TEST_PEERS) + "/" + name;
}

}  // namespace balrog::http::test
