// openssl_pair server: a TLS echo server written the ordinary blocking way, as a user of
// OpenSSL's C API writes it: socket / bind / listen / accept, a std::thread per connection,
// SSL_set_fd + SSL_accept, SSL_read / SSL_write, SSL_shutdown. Nothing here is written for
// balrog.
//
//   openssl_pair_server --cert <pem> --key <pem> --port-file <path> --connections <n>
//
// Listens on 127.0.0.1 (an ephemeral port, written to --port-file once listening), serves
// --connections connections, then prints one line per connection, in client order (the client
// sends its number first), to stdout, and a "stats:" line to stderr: the OS threads that ran
// connections (gettid, not std::thread::id: after the rewrite a thread id names a fiber) and
// the most connections waiting at once, after the handshake, for the client's first line (the
// client takes its time to send it: with a thread per connection all of them wait at once; a
// server whose SSL_read blocked its one thread would have one at a time).
//
// Built twice (CMakeLists.txt): as written, and rewritten by balrog_wrap() with RUN_MAIN, where
// every std::thread is a fiber of the one thread running main.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

struct options {
  std::string cert;
  std::string key;
  std::string port_file;
  int connections = 0;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "server: %s: %s\n", what, std::strerror(errno));
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

// What the handlers share: the OS threads that ran them, how many wait for their first line at
// once, and each connection's transcript.
class shared_state {
 public:
  explicit shared_state(int connections) : transcripts_(static_cast<std::size_t>(connections)) {}

  void note_thread() {
    const auto tid = static_cast<long>(::syscall(SYS_gettid));
    std::lock_guard<std::mutex> lock(mutex_);
    tids_.insert(tid);
  }
  void start_waiting() {
    std::lock_guard<std::mutex> lock(mutex_);
    most_at_once_ = std::max(most_at_once_, ++waiting_);
  }
  void stop_waiting() {
    std::lock_guard<std::mutex> lock(mutex_);
    --waiting_;
  }
  void record(int id, std::string transcript) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (id >= 0 && id < static_cast<int>(transcripts_.size())) {
      transcripts_[static_cast<std::size_t>(id)] = std::move(transcript);
    } else {
      stray_.push_back(std::move(transcript));
    }
  }
  void print() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < transcripts_.size(); ++i) {
      std::printf("connection %zu: %s\n", i, transcripts_[i].c_str());
    }
    for (const std::string& t : stray_) std::printf("stray connection: %s\n", t.c_str());
    std::fprintf(stderr, "stats: os_threads=%zu most_at_once=%d connections=%zu\n", tids_.size(),
                 most_at_once_, transcripts_.size());
  }

 private:
  std::mutex mutex_;
  std::set<long> tids_;
  int waiting_ = 0;
  int most_at_once_ = 0;
  std::vector<std::string> transcripts_;
  std::vector<std::string> stray_;
};

// Reads one '\n'-terminated line (without it) into `line`; false at the end of the stream or on
// an error. Byte by byte from OpenSSL's record buffer: simple, and the lines are short.
bool read_line(SSL* ssl, std::string& line) {
  line.clear();
  char c = 0;
  for (;;) {
    const int n = SSL_read(ssl, &c, 1);
    if (n <= 0) return false;
    if (c == '\n') return true;
    line.push_back(c);
  }
}

bool write_all(SSL* ssl, const std::string& text) {
  return SSL_write(ssl, text.data(), static_cast<int>(text.size())) ==
         static_cast<int>(text.size());
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void serve(SSL_CTX* ctx, int fd, shared_state& state) {
  state.note_thread();
  int id = -1;
  std::string transcript;
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    transcript = "SSL_new/SSL_set_fd failed";
  } else if (SSL_accept(ssl) != 1) {
    transcript = "SSL_accept failed";
    ERR_print_errors_fp(stderr);
  } else {
    transcript = SSL_get_version(ssl);
    std::string line;
    state.start_waiting();
    bool more = read_line(ssl, line);
    state.stop_waiting();
    if (more) id = std::atoi(line.c_str());
    for (; more; more = read_line(ssl, line)) {
      transcript += " | " + line;
      if (!write_all(ssl, upper(line) + " (" + std::to_string(line.size()) + " bytes)\n")) {
        transcript += " | write failed";
        break;
      }
    }
    const int err = SSL_get_error(ssl, 0);
    transcript += err == SSL_ERROR_ZERO_RETURN ? " | close_notify" : " | read error";
    // Our close_notify in answer to the client's: 1, the shutdown is complete.
    transcript += " | SSL_shutdown " + std::to_string(SSL_shutdown(ssl));
  }
  SSL_free(ssl);
  ::close(fd);
  state.record(id, transcript);
}

options parse(int argc, char** argv) {
  options opts;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--cert") {
      opts.cert = value;
    } else if (name == "--key") {
      opts.key = value;
    } else if (name == "--port-file") {
      opts.port_file = value;
    } else if (name == "--connections") {
      opts.connections = std::atoi(value);
    } else {
      std::fprintf(stderr, "server: unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (opts.cert.empty() || opts.key.empty() || opts.port_file.empty() || opts.connections <= 0) {
    std::fprintf(stderr,
                 "usage: server --cert <pem> --key <pem> --port-file <path> --connections <n>\n");
    std::exit(2);
  }
  return opts;
}

}  // namespace

int main(int argc, char** argv) {
  const options opts = parse(argc, argv);

  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) die("SSL_CTX_new");
  if (SSL_CTX_use_certificate_chain_file(ctx, opts.cert.c_str()) != 1) die("certificate");
  if (SSL_CTX_use_PrivateKey_file(ctx, opts.key.c_str(), SSL_FILETYPE_PEM) != 1) die("key");

  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (::listen(listener, 1024) != 0) die("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname");
  {
    // Written whole, then renamed, so that the reader never sees half a number.
    const std::string tmp = opts.port_file + ".tmp";
    std::ofstream(tmp) << ntohs(addr.sin_port) << "\n";
    if (std::rename(tmp.c_str(), opts.port_file.c_str()) != 0) die("rename");
  }

  shared_state state(opts.connections);
  std::vector<std::thread> handlers;
  for (int i = 0; i < opts.connections; ++i) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) die("accept");
    handlers.emplace_back(serve, ctx, fd, std::ref(state));
  }
  for (std::thread& t : handlers) t.join();
  ::close(listener);
  SSL_CTX_free(ctx);
  state.print();
  return 0;
}
