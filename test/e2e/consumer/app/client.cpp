// roll_call_check: starts roll_call_server, connects --clients N clients to it at once, checks
// every answer and what the server reports, and exits 0 when all is well.
//
//   roll_call_check --server <path> --clients N --expect-handler-threads K [--timeout-ms T]
//
// The clients are plain non-blocking sockets multiplexed with poll(2) on this one thread, so
// all N are connected and waiting at the same time; the server only answers once all N have
// checked in, so it must hold N connections in progress at once.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "roll_call/server.hpp"

namespace {

using steady = std::chrono::steady_clock;

struct client {
  int fd = -1;
  std::string out;
  std::size_t sent = 0;
  std::string in;
  bool done = false;
};

[[noreturn]] void fail(const char* what) {
  std::perror(what);
  std::exit(2);
}

long field(const std::string& text, const std::string& key) {
  const auto at = text.find(key + "=");
  return at == std::string::npos ? -1 : std::atol(text.c_str() + at + key.size() + 1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string server;
  int clients = 100;
  long expect_threads = -1;
  long timeout_ms = 60000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--server") {
      server = argv[i + 1];
    } else if (flag == "--clients") {
      clients = std::atoi(argv[i + 1]);
    } else if (flag == "--expect-handler-threads") {
      expect_threads = std::atol(argv[i + 1]);
    } else if (flag == "--timeout-ms") {
      timeout_ms = std::atol(argv[i + 1]);
    }
  }
  if (server.empty()) {
    std::fprintf(stderr, "usage: %s --server <path> [--clients N] [--expect-handler-threads K]\n",
                 argv[0]);
    return 2;
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ::signal(SIGPIPE, SIG_IGN);

  // The server, its stdout on a pipe: the first line says the port, the last what it saw.
  int out[2];
  if (::pipe(out) != 0) fail("pipe");
  const std::string n = std::to_string(clients);
  const std::string patience = std::to_string(timeout_ms);
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(server.c_str(), server.c_str(), "--clients", n.c_str(), "--patience-ms",
            patience.c_str(), static_cast<char*>(nullptr));
    fail("exec");
  }
  ::close(out[1]);
  FILE* server_out = ::fdopen(out[0], "r");
  char line[512];
  unsigned port = 0;
  if (std::fgets(line, sizeof line, server_out) == nullptr ||
      std::sscanf(line, "listening on port %u", &port) != 1) {
    std::fprintf(stderr, "roll_call_check: the server did not start\n");
    return 2;
  }

  const auto start = steady::now();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<client> cs(static_cast<std::size_t>(clients));
  for (int i = 0; i < clients; ++i) {
    client& c = cs[static_cast<std::size_t>(i)];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) fail("socket");
    if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      fail("connect");
    }
    c.out = "HELLO " + std::to_string(i) + "\n";
  }

  // Send every HELLO and read every answer, all connections at once.
  const auto deadline = start + std::chrono::milliseconds(timeout_ms);
  int finished = 0;
  std::vector<pollfd> fds(cs.size());
  while (finished < clients && steady::now() < deadline) {
    for (std::size_t i = 0; i < cs.size(); ++i) {
      fds[i].fd = cs[i].done ? -1 : cs[i].fd;
      fds[i].events = static_cast<short>(cs[i].sent < cs[i].out.size() ? POLLOUT : POLLIN);
      fds[i].revents = 0;
    }
    if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) fail("poll");
    for (std::size_t i = 0; i < cs.size(); ++i) {
      client& c = cs[i];
      if (c.done || fds[i].revents == 0) continue;
      if (c.sent < c.out.size()) {
        const ssize_t k = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, 0);
        if (k > 0) c.sent += static_cast<std::size_t>(k);
        if (k < 0 && errno != EAGAIN) c.done = true, ++finished;
        continue;
      }
      char buf[256];
      const ssize_t k = ::recv(c.fd, buf, sizeof buf, 0);
      if (k > 0) c.in.append(buf, static_cast<std::size_t>(k));
      if (k == 0 || (k < 0 && errno != EAGAIN) || c.in.find('\n') != std::string::npos) {
        c.done = true;
        ++finished;
      }
    }
  }
  const double elapsed = std::chrono::duration<double, std::milli>(steady::now() - start).count();
  int right = 0;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    if (cs[i].in == roll_call::expected_reply(static_cast<long>(i), clients)) {
      ++right;
    } else if (static_cast<int>(i) - right < 5) {  // the first few wrong answers
      std::fprintf(stderr, "client %zu: got '%s'\n", i, cs[i].in.c_str());
    }
    ::close(cs[i].fd);
  }

  // What the server saw.
  std::string report;
  while (std::fgets(line, sizeof line, server_out) != nullptr) report += line;
  std::fclose(server_out);
  int status = 0;
  if (right < clients) ::kill(pid, SIGTERM);
  ::waitpid(pid, &status, 0);
  std::printf("%s", report.c_str());
  std::printf("client: clients=%d right=%d time_ms=%.0f\n", clients, right, elapsed);

  bool ok = right == clients;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "roll_call_check: the server failed (status %d)\n", status);
    ok = false;
  }
  if (field(report, "answered") != clients || field(report, "most_present") != clients) {
    std::fprintf(stderr, "roll_call_check: the server did not hold all %d clients at once\n",
                 clients);
    ok = false;
  }
  if (expect_threads >= 0 && field(report, "handler_threads") != expect_threads) {
    std::fprintf(stderr, "roll_call_check: expected the clients to be served by %ld thread(s)\n",
                 expect_threads);
    ok = false;
  }
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
