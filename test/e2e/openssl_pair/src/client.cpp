// openssl_pair client: TLS connections written the ordinary blocking way, as a user of
// OpenSSL's C API writes them: getaddrinfo, socket + connect, SSL_set_fd + SSL_connect with
// certificate and host name verification, SSL_write / SSL_read, SSL_shutdown. A std::thread per
// connection. Nothing here is written for balrog.
//
//   openssl_pair_client --host <name> --port <n> --ca <pem> --connections <n> [--messages <m>]
//                       [--hold-ms <ms>]
//
// Each connection waits --hold-ms after the handshake, sends its number, then --messages lines,
// reads the server's answer to each, and closes with SSL_shutdown (then reads the server's
// close_notify). stdout: one line per connection, in connection order; stderr: a "stats:" line
// with the OS threads that ran them.
// Exit status 1 when a connection failed.
//
// Built twice (CMakeLists.txt): as written, and rewritten by balrog_wrap() with RUN_MAIN.
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

struct options {
  std::string host;
  std::string port;
  std::string ca;
  int connections = 0;
  int messages = 3;
  int hold_ms = 0;
};

// A connected TCP socket to host:port, or -1.
int connect_to(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && ::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

bool read_line(SSL* ssl, std::string& line) {
  line.clear();
  char buf[256];
  for (;;) {
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) return false;
    line.append(buf, static_cast<std::size_t>(n));
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      return true;
    }
  }
}

bool send_line(SSL* ssl, const std::string& text) {
  const std::string line = text + "\n";
  return SSL_write(ssl, line.data(), static_cast<int>(line.size())) ==
         static_cast<int>(line.size());
}

// One connection; returns its transcript, or one that starts with "FAILED".
std::string run_connection(SSL_CTX* ctx, const options& opts, int id) {
  const int fd = connect_to(opts.host, opts.port);
  if (fd < 0) return "FAILED: connect";
  std::string out;
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1 || SSL_set1_host(ssl, opts.host.c_str()) != 1) {
    out = "FAILED: SSL setup";
  } else if (SSL_connect(ssl) != 1) {
    out = "FAILED: SSL_connect";
    ERR_print_errors_fp(stderr);
  } else {
    out = std::string(SSL_get_version(ssl)) +
          " verify=" + X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    std::this_thread::sleep_for(std::chrono::milliseconds(opts.hold_ms));
    std::string reply;
    for (int m = 0; m <= opts.messages; ++m) {
      const std::string text =
          m == 0 ? std::to_string(id)
                 : "message " + std::to_string(m) + " of client " + std::to_string(id);
      if (!send_line(ssl, text) || !read_line(ssl, reply)) {
        out = "FAILED: exchange: " + out;
        break;
      }
      out += " | " + reply;
    }
    // Our close_notify (0: sent, the peer's not yet seen), then the server's.
    out += " | SSL_shutdown " + std::to_string(SSL_shutdown(ssl));
    char c = 0;
    const int n = SSL_read(ssl, &c, 1);
    out += n == 0 && SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN ? " | close_notify"
                                                                    : " | no close_notify";
  }
  SSL_free(ssl);
  ::close(fd);
  return out;
}

options parse(int argc, char** argv) {
  options opts;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--host") {
      opts.host = value;
    } else if (name == "--port") {
      opts.port = value;
    } else if (name == "--ca") {
      opts.ca = value;
    } else if (name == "--connections") {
      opts.connections = std::atoi(value);
    } else if (name == "--messages") {
      opts.messages = std::atoi(value);
    } else if (name == "--hold-ms") {
      opts.hold_ms = std::atoi(value);
    } else {
      std::fprintf(stderr, "client: unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (opts.host.empty() || opts.port.empty() || opts.ca.empty() || opts.connections <= 0) {
    std::fprintf(stderr,
                 "usage: client --host <name> --port <n> --ca <pem> --connections <n> "
                 "[--messages <m>] [--hold-ms <ms>]\n");
    std::exit(2);
  }
  return opts;
}

}  // namespace

int main(int argc, char** argv) {
  const options opts = parse(argc, argv);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr || SSL_CTX_load_verify_locations(ctx, opts.ca.c_str(), nullptr) != 1) {
    std::fprintf(stderr, "client: cannot load %s\n", opts.ca.c_str());
    ERR_print_errors_fp(stderr);
    return 1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);

  std::vector<std::string> transcripts(static_cast<std::size_t>(opts.connections));
  std::mutex mutex;
  std::set<long> tids;
  std::vector<std::thread> threads;
  for (int i = 0; i < opts.connections; ++i) {
    threads.emplace_back([&, i] {
      std::string t = run_connection(ctx, opts, i);
      std::lock_guard<std::mutex> lock(mutex);
      tids.insert(static_cast<long>(::syscall(SYS_gettid)));
      transcripts[static_cast<std::size_t>(i)] = std::move(t);
    });
  }
  for (std::thread& t : threads) t.join();
  SSL_CTX_free(ctx);

  int failed = 0;
  for (std::size_t i = 0; i < transcripts.size(); ++i) {
    std::printf("client %zu: %s\n", i, transcripts[i].c_str());
    if (transcripts[i].rfind("FAILED", 0) == 0) ++failed;
  }
  std::fprintf(stderr, "stats: os_threads=%zu failed=%d\n", tids.size(), failed);
  return failed == 0 ? 0 : 1;
}
