#include "support/peers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_pki.hpp"

#ifndef BALROG_SOURCE_DIR
#error "BALROG_SOURCE_DIR must name the repository (the Python peer lives there)"
#endif

namespace balrog::test {

child_process::child_process(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a test binary that dies takes its peers along
    ::dup2(fds[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out_ = fds[0];
}

child_process::~child_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  if (out_ >= 0) ::close(out_);
}

std::string child_process::read_line() {
  std::string line;
  for (;;) {
    pollfd p{out_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 10'000);
    if (ready < 0 && errno == EINTR) continue;  // a signal (the balrog watchdog's)
    if (ready <= 0) throw std::runtime_error("a test peer did not answer");
    char c = 0;
    if (::read(out_, &c, 1) != 1) throw std::runtime_error("a test peer exited");
    if (c == '\n') return line;
    line += c;
  }
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool wait_for_port(std::uint16_t port) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (up) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

namespace {

// Objects that live until the test binary exits (their destructors stop the peers).
template <class T>
T& process_lifetime() {
  static T instance;
  return instance;
}

struct python_state {
  std::unique_ptr<child_process> child;
  std::uint16_t port = 0;
  python_state() {
    child = std::make_unique<child_process>(std::vector<std::string>{
        "/usr/bin/python3",
        std::string(BALROG_SOURCE_DIR) + "/test/unit/http/client/peers/test_server.py"});
    const std::string line = child->read_line();  // "port N"
    port = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
  }
};

struct nginx_state {
  std::string dir;
  std::string files;
  std::uint16_t http = 0;
  std::uint16_t https = 0;
  std::unique_ptr<child_process> child;

  nginx_state() {
    char tmpl[] = "/tmp/balrog-nginx.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    files = dir + "/files";
    std::filesystem::create_directories(files);
    std::ofstream(files + "/hello.txt") << "hello from nginx\n";
    {
      std::ofstream big(files + "/big.bin", std::ios::binary);
      std::string block(1 << 16, 'x');
      for (int i = 0; i < 16; ++i) big << block;  // 1 MiB
    }
    http = free_port();
    https = free_port();
    const test_pki& pki = test_pki::get();
    std::ostringstream conf;
    if (::geteuid() == 0) conf << "user root;\n";  // workers read files the tests write
    conf << "worker_processes 1;\n"
         << "daemon off;\n"
         << "pid " << dir << "/nginx.pid;\n"
         << "error_log " << dir << "/error.log warn;\n"
         << "events { worker_connections 4096; }\n"
         << "http {\n"
         << "  access_log off;\n"
         << "  client_body_temp_path " << dir << "/body;\n"
         << "  proxy_temp_path " << dir << "/proxy;\n"
         << "  fastcgi_temp_path " << dir << "/fastcgi;\n"
         << "  uwsgi_temp_path " << dir << "/uwsgi;\n"
         << "  scgi_temp_path " << dir << "/scgi;\n"
         << "  keepalive_requests 100000;\n"
         << "  http2_max_concurrent_streams 128;\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << http << ";\n"
         << "    listen 127.0.0.1:" << https << " ssl http2;\n"
         << "    ssl_certificate " << pki.server_cert_file << ";\n"
         << "    ssl_certificate_key " << pki.server_key_file << ";\n"
         << "    location = /hello { default_type text/plain; return 200 \"hello\\n\"; }\n"
         << "    location /files/ { alias " << files << "/; }\n"
         << "    location = /echo-method { default_type text/plain; return 200 \"$request_method "
            "$server_protocol\\n\"; }\n"
         << "    location = /conn { default_type text/plain; return 200 \"$connection "
            "$connection_requests\\n\"; }\n"
         << "  }\n"
         << "}\n";
    std::ofstream(dir + "/nginx.conf") << conf.str();
    child = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf"});
    if (!wait_for_port(http) || !wait_for_port(https)) {
      std::ifstream log(dir + "/error.log");
      std::stringstream text;
      text << log.rdbuf();
      throw std::runtime_error("nginx did not start: " + text.str());
    }
  }
  ~nginx_state() {
    child.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

// Starts the peers before the first test, outside any scheduler (starting them from a fiber
// would hold up its shard while they boot).
class start_peers : public ::testing::Environment {
 public:
  void SetUp() override {
    (void)process_lifetime<python_state>();
    (void)process_lifetime<nginx_state>();
  }
};
[[maybe_unused]] ::testing::Environment* const peers_environment =
    ::testing::AddGlobalTestEnvironment(new start_peers);

}  // namespace

std::uint16_t python_peer::port() { return process_lifetime<python_state>().port; }
std::string python_peer::url(const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

std::uint16_t nginx_peer::http_port() { return process_lifetime<nginx_state>().http; }
std::uint16_t nginx_peer::https_port() { return process_lifetime<nginx_state>().https; }
std::string nginx_peer::http_url(const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(http_port()) + path;
}
std::string nginx_peer::https_url(const std::string& path) {
  return "https://localhost:" + std::to_string(https_port()) + path;
}
const std::string& nginx_peer::files_dir() { return process_lifetime<nginx_state>().files; }

}  // namespace balrog::test
