// The real servers the client tests talk to, started by the test binary on loopback, once,
// on first use, and stopped when it exits:
//
//   python_peer::url("/echo")          // http://127.0.0.1:<port>/echo (peers/test_server.py)
//   nginx_peer::http_url("/hello")     // nginx, HTTP/1.1 keep-alive
//   nginx_peer::https_url("/hello")    // nginx, TLS (certificate of support/test_pki) + HTTP/2
//
// Ports are free ones the kernel picked (Python binds port 0; nginx gets ports that were free a
// moment before it started). A peer that does not come up fails the test with its log.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace balrog::test {

// A child process, killed (SIGTERM, then SIGKILL) and reaped when destroyed.
class child_process {
 public:
  // Runs argv[0] with argv; its stdout is a pipe the caller may read (stdout_fd()).
  explicit child_process(const std::vector<std::string>& argv);
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();
  [[nodiscard]] int stdout_fd() const noexcept { return out_; }
  // The next line of its stdout (without the newline), waiting up to 10 s; throws on EOF.
  std::string read_line();

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

// A TCP port on 127.0.0.1 that was free when asked.
std::uint16_t free_port();
// Waits up to 10 s until something accepts on 127.0.0.1:port; false if nothing did.
bool wait_for_port(std::uint16_t port);

struct python_peer {
  static std::uint16_t port();
  static std::string url(const std::string& path);
};

struct nginx_peer {
  static std::uint16_t http_port();
  static std::uint16_t https_port();
  static std::string http_url(const std::string& path);
  static std::string https_url(const std::string& path);  // host "localhost" (the certificate)
  // The directory nginx serves files from (root of "/files/...").
  static const std::string& files_dir();
};

}  // namespace balrog::test
