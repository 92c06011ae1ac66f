//
//  minihttp.h
//
//  A small header-only HTTP/1.1 server and client, vendored the way projects vendor
//  cpp-httplib: one header in its own include directory, written for OS threads.
//
//  - Server: a listening socket polled with an idle interval, accept(), and each connection
//    handed to a task queue (a std::thread pool on a std::condition_variable; the pool size is
//    MINIHTTP_THREAD_POOL_COUNT or whatever new_task_queue returns). Reads and writes wait with
//    poll() for the read/write timeouts. Per-thread request counts keyed by thread id.
//  - Client: getaddrinfo(), a non-blocking connect() finished by poll() with a connection
//    timeout, the shared socket behind a std::recursive_mutex (requests from several threads),
//    "Connection: close" requests.
//  - TLS (MINIHTTP_OPENSSL_SUPPORT, off by default), as cpp-httplib's SSLServer/SSLClient do it:
//    Server::set_tls_certificate, Client::enable_tls; SSL_set_fd on the connection's socket,
//    a blocking SSL_accept / SSL_connect, SSL_read/SSL_write behind the same poll() timeouts,
//    SSL_shutdown before the socket is closed.
//
//  This is a test fixture of balrog (test/e2e/thread_pool_http): it must stay plain,
//  balrog-agnostic code.
//
#ifndef MINIHTTP_MINIHTTP_H
#define MINIHTTP_MINIHTTP_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifdef MINIHTTP_OPENSSL_SUPPORT
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#ifndef MINIHTTP_THREAD_POOL_COUNT
#define MINIHTTP_THREAD_POOL_COUNT \
  ((std::max)(                     \
      8u, std::thread::hardware_concurrency() > 0 ? std::thread::hardware_concurrency() - 1 : 0))
#endif
#ifndef MINIHTTP_LISTEN_BACKLOG
#define MINIHTTP_LISTEN_BACKLOG 1024
#endif
#ifndef MINIHTTP_IDLE_INTERVAL_MSEC
#define MINIHTTP_IDLE_INTERVAL_MSEC 100
#endif
#ifndef MINIHTTP_READ_TIMEOUT_MSEC
#define MINIHTTP_READ_TIMEOUT_MSEC 30000
#endif
#ifndef MINIHTTP_WRITE_TIMEOUT_MSEC
#define MINIHTTP_WRITE_TIMEOUT_MSEC 5000
#endif
#ifndef MINIHTTP_CONNECTION_TIMEOUT_MSEC
#define MINIHTTP_CONNECTION_TIMEOUT_MSEC 5000
#endif
#ifndef MINIHTTP_REQUEST_LINE_MAX
#define MINIHTTP_REQUEST_LINE_MAX 8192
#endif

namespace minihttp {

using socket_t = int;
constexpr socket_t INVALID_SOCKET = -1;

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> headers;
  std::string body;

  std::string get_param_value(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

struct Response {
  int status = -1;
  std::map<std::string, std::string> headers;
  std::string body;

  void set_content(std::string s, const std::string& content_type) {
    body = std::move(s);
    headers["Content-Type"] = content_type;
  }
};

enum class Error { Success = 0, Connection, Read, Write, Timeout, Resolve, SSLConnection };

inline const char* to_string(Error e) {
  switch (e) {
    case Error::Success:
      return "Success";
    case Error::Connection:
      return "Connection";
    case Error::Read:
      return "Read";
    case Error::Write:
      return "Write";
    case Error::Timeout:
      return "Timeout";
    case Error::Resolve:
      return "Resolve";
    case Error::SSLConnection:
      return "SSLConnection";
  }
  return "Unknown";
}

class Result {
 public:
  Result(std::unique_ptr<Response> res, Error err) : res_(std::move(res)), err_(err) {}
  explicit operator bool() const { return res_ != nullptr; }
  const Response* operator->() const { return res_.get(); }
  const Response& value() const { return *res_; }
  Error error() const { return err_; }

 private:
  std::unique_ptr<Response> res_;
  Error err_;
};

class TaskQueue {
 public:
  TaskQueue() = default;
  virtual ~TaskQueue() = default;
  virtual bool enqueue(std::function<void()> fn) = 0;
  virtual void shutdown() = 0;
};

// The worker pool: N threads taking jobs off a list under a mutex and a condition variable.
class ThreadPool final : public TaskQueue {
 public:
  explicit ThreadPool(size_t n) : shutdown_(false) {
    while (n) {
      threads_.emplace_back(worker(*this));
      n--;
    }
  }

  ThreadPool(const ThreadPool&) = delete;
  ~ThreadPool() override = default;

  bool enqueue(std::function<void()> fn) override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(fn));
    }
    cond_.notify_one();
    return true;
  }

  void shutdown() override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      shutdown_ = true;
    }
    cond_.notify_all();
    for (auto& t : threads_) t.join();
  }

  size_t size() const { return threads_.size(); }

 private:
  struct worker {
    explicit worker(ThreadPool& pool) : pool_(pool) {}

    void operator()() {
      for (;;) {
        std::function<void()> fn;
        {
          std::unique_lock<std::mutex> lock(pool_.mutex_);
          pool_.cond_.wait(lock, [&] { return !pool_.jobs_.empty() || pool_.shutdown_; });
          if (pool_.shutdown_ && pool_.jobs_.empty()) break;
          fn = std::move(pool_.jobs_.front());
          pool_.jobs_.pop_front();
        }
        fn();
      }
    }

    ThreadPool& pool_;
  };
  friend struct worker;

  std::vector<std::thread> threads_;
  std::list<std::function<void()>> jobs_;
  bool shutdown_;
  std::condition_variable cond_;
  std::mutex mutex_;
};

namespace detail {

inline int poll_wrapper(struct pollfd* fds, nfds_t nfds, int timeout_ms) {
  int res;
  do {
    res = ::poll(fds, nfds, timeout_ms);
  } while (res < 0 && errno == EINTR);
  return res;
}

inline ssize_t select_read(socket_t sock, int timeout_ms) {
  struct pollfd pfd {};
  pfd.fd = sock;
  pfd.events = POLLIN;
  return poll_wrapper(&pfd, 1, timeout_ms);
}

inline ssize_t select_write(socket_t sock, int timeout_ms) {
  struct pollfd pfd {};
  pfd.fd = sock;
  pfd.events = POLLOUT;
  return poll_wrapper(&pfd, 1, timeout_ms);
}

inline Error wait_until_socket_is_ready(socket_t sock, int timeout_ms) {
  struct pollfd pfd {};
  pfd.fd = sock;
  pfd.events = POLLIN | POLLOUT;
  auto poll_res = poll_wrapper(&pfd, 1, timeout_ms);
  if (poll_res == 0) return Error::Timeout;
  if (poll_res > 0 && (pfd.revents & (POLLIN | POLLOUT))) {
    int error = 0;
    socklen_t len = sizeof(error);
    auto res = getsockopt(sock, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&error), &len);
    auto successful = res >= 0 && !error;
    return successful ? Error::Success : Error::Connection;
  }
  return Error::Connection;
}

inline void set_nonblocking(socket_t sock, bool nonblocking) {
  auto flags = fcntl(sock, F_GETFL, 0);
  fcntl(sock, F_SETFL, nonblocking ? (flags | O_NONBLOCK) : (flags & (~O_NONBLOCK)));
}

inline int close_socket(socket_t sock) { return close(sock); }

inline int shutdown_socket(socket_t sock) { return shutdown(sock, SHUT_RDWR); }

template <typename BindOrConnect>
socket_t create_socket(const std::string& host, int port, int socket_flags, bool tcp_nodelay,
                       BindOrConnect bind_or_connect) {
  struct addrinfo hints;
  struct addrinfo* result;
  memset(&hints, 0, sizeof(struct addrinfo));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = socket_flags;
  hints.ai_protocol = 0;

  auto service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &result)) {
    return INVALID_SOCKET;
  }

  for (auto rp = result; rp; rp = rp->ai_next) {
    auto sock = socket(rp->ai_family, rp->ai_socktype | SOCK_CLOEXEC, rp->ai_protocol);
    if (sock == INVALID_SOCKET) continue;

    if (tcp_nodelay) {
      int yes = 1;
      setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<char*>(&yes), sizeof(yes));
    }
    if (rp->ai_family == AF_INET6) {
      int no = 0;
      setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, reinterpret_cast<char*>(&no), sizeof(no));
    }

    if (bind_or_connect(sock, *rp)) {
      freeaddrinfo(result);
      return sock;
    }
    close_socket(sock);
  }

  freeaddrinfo(result);
  return INVALID_SOCKET;
}

// A connected socket, optionally with TLS on top, with the read/write timeouts of the side
// that owns it.
class SocketStream {
 public:
  SocketStream(socket_t sock, int read_timeout_ms, int write_timeout_ms, void* ssl = nullptr)
      : sock_(sock),
        read_timeout_ms_(read_timeout_ms),
        write_timeout_ms_(write_timeout_ms),
        ssl_(ssl) {}

  bool is_readable() const { return select_read(sock_, read_timeout_ms_) > 0; }
  bool is_writable() const { return select_write(sock_, write_timeout_ms_) > 0; }

  ssize_t read(char* ptr, size_t size) {
#ifdef MINIHTTP_OPENSSL_SUPPORT
    if (ssl_) {
      auto s = static_cast<SSL*>(ssl_);
      if (SSL_pending(s) == 0 && !is_readable()) return -1;
      return SSL_read(s, ptr, static_cast<int>(size));
    }
#endif
    if (!is_readable()) return -1;
    ssize_t res;
    do {
      res = recv(sock_, ptr, size, 0);
    } while (res < 0 && errno == EINTR);
    return res;
  }

  ssize_t write(const char* ptr, size_t size) {
    if (!is_writable()) return -1;
#ifdef MINIHTTP_OPENSSL_SUPPORT
    if (ssl_) return SSL_write(static_cast<SSL*>(ssl_), ptr, static_cast<int>(size));
#endif
    ssize_t res;
    do {
      res = send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (res < 0 && errno == EINTR);
    return res;
  }

  bool write_all(const std::string& s) {
    size_t offset = 0;
    while (offset < s.size()) {
      auto n = write(s.data() + offset, s.size() - offset);
      if (n <= 0) return false;
      offset += static_cast<size_t>(n);
    }
    return true;
  }

  // One line, CRLF included; false on EOF, error or timeout.
  bool getline(std::string& line) {
    line.clear();
    for (;;) {
      if (pos_ == buf_.size()) {
        char chunk[4096];
        auto n = read(chunk, sizeof(chunk));
        if (n <= 0) return false;
        buf_.assign(chunk, static_cast<size_t>(n));
        pos_ = 0;
      }
      char c = buf_[pos_++];
      line += c;
      if (c == '\n') return true;
      if (line.size() > MINIHTTP_REQUEST_LINE_MAX) return false;
    }
  }

  bool read_exactly(std::string& out, size_t n) {
    out.clear();
    while (out.size() < n) {
      if (pos_ == buf_.size()) {
        char chunk[4096];
        auto r = read(chunk, sizeof(chunk));
        if (r <= 0) return false;
        buf_.assign(chunk, static_cast<size_t>(r));
        pos_ = 0;
      }
      auto take = (std::min)(n - out.size(), buf_.size() - pos_);
      out.append(buf_, pos_, take);
      pos_ += take;
    }
    return true;
  }

 private:
  socket_t sock_;
  int read_timeout_ms_;
  int write_timeout_ms_;
  void* ssl_;
  std::string buf_;
  size_t pos_ = 0;
};

inline std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return std::string();
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

inline bool read_headers(SocketStream& strm, std::map<std::string, std::string>& headers) {
  std::string line;
  for (;;) {
    if (!strm.getline(line)) return false;
    if (line == "\r\n" || line == "\n") return true;
    auto colon = line.find(':');
    if (colon == std::string::npos) return false;
    headers[trim(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
}

inline void parse_query(const std::string& q, std::map<std::string, std::string>& params) {
  size_t start = 0;
  while (start <= q.size()) {
    auto amp = q.find('&', start);
    auto item = q.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    auto eq = item.find('=');
    if (!item.empty()) {
      params[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
}

inline const char* status_message(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    default:
      return "Unknown";
  }
}

}  // namespace detail

class Server {
 public:
  using Handler = std::function<void(const Request&, Response&)>;

  Server()
      : new_task_queue([] { return new ThreadPool(MINIHTTP_THREAD_POOL_COUNT); }),
        svr_sock_(INVALID_SOCKET),
        is_running_(false) {}

  virtual ~Server() {
#ifdef MINIHTTP_OPENSSL_SUPPORT
    SSL_CTX_free(ssl_ctx_);
#endif
  }

  Server& Get(const std::string& path, Handler handler) {
    handlers_.emplace_back(path, std::move(handler));
    return *this;
  }

  void set_read_timeout(int msec) { read_timeout_ms_ = msec; }
  void set_write_timeout(int msec) { write_timeout_ms_ = msec; }

#ifdef MINIHTTP_OPENSSL_SUPPORT
  // HTTPS: every connection does its TLS handshake (SSL_accept) on the worker that serves it.
  bool set_tls_certificate(const std::string& cert_path, const std::string& key_path) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
      SSL_CTX_free(ctx);
      return false;
    }
    SSL_CTX_free(ssl_ctx_);
    ssl_ctx_ = ctx;
    return true;
  }
#endif

  int bind_to_any_port(const std::string& host, int socket_flags = 0) {
    return bind_internal(host, 0, socket_flags);
  }

  bool listen_after_bind() { return listen_internal(); }

  bool listen(const std::string& host, int port, int socket_flags = 0) {
    return bind_internal(host, port, socket_flags) >= 0 && listen_internal();
  }

  bool is_running() const { return is_running_; }

  void wait_until_ready() const {
    while (!is_running_) std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }

  void stop() {
    if (is_running_) {
      std::atomic<socket_t> sock(svr_sock_.exchange(INVALID_SOCKET));
      detail::shutdown_socket(sock);
      detail::close_socket(sock);
    }
  }

  // How many requests each thread of the pool handled, keyed by thread id.
  std::map<std::thread::id, size_t> requests_by_thread() const {
    std::lock_guard<std::recursive_mutex> guard(stats_mutex_);
    return requests_by_thread_;
  }

  std::function<TaskQueue*(void)> new_task_queue;

 private:
  int bind_internal(const std::string& host, int port, int socket_flags) {
    svr_sock_ = detail::create_socket(
        host, port, socket_flags | AI_PASSIVE, false,
        [](socket_t sock, struct addrinfo& ai) -> bool {
          int yes = 1;
          setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<char*>(&yes), sizeof(yes));
          if (::bind(sock, ai.ai_addr, static_cast<socklen_t>(ai.ai_addrlen))) return false;
          if (::listen(sock, MINIHTTP_LISTEN_BACKLOG)) return false;
          return true;
        });
    if (svr_sock_ == INVALID_SOCKET) return -1;
    if (port != 0) return port;

    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof(addr);
    if (getsockname(svr_sock_, reinterpret_cast<struct sockaddr*>(&addr), &addr_len) == -1) {
      return -1;
    }
    if (addr.ss_family == AF_INET) {
      return ntohs(reinterpret_cast<struct sockaddr_in*>(&addr)->sin_port);
    }
    if (addr.ss_family == AF_INET6) {
      return ntohs(reinterpret_cast<struct sockaddr_in6*>(&addr)->sin6_port);
    }
    return -1;
  }

  bool listen_internal() {
    auto ret = true;
    is_running_ = true;
    {
      std::unique_ptr<TaskQueue> task_queue(new_task_queue());

      while (svr_sock_ != INVALID_SOCKET) {
        auto val = detail::select_read(svr_sock_, MINIHTTP_IDLE_INTERVAL_MSEC);
        if (val == 0) continue;  // idle: check whether we were stopped

        socket_t sock = accept(svr_sock_, nullptr, nullptr);
        if (sock == INVALID_SOCKET) {
          if (errno == EMFILE) {
            // The per-process limit of open file descriptors: wait and try again.
            std::this_thread::sleep_for(std::chrono::milliseconds{1});
            continue;
          }
          if (errno == EINTR || errno == EAGAIN) continue;
          if (svr_sock_ != INVALID_SOCKET) {
            detail::close_socket(svr_sock_);
            ret = false;
          }
          break;
        }

        task_queue->enqueue([this, sock]() { process_and_close_socket(sock); });
      }

      task_queue->shutdown();
    }
    is_running_ = false;
    return ret;
  }

  void note_request() {
    std::lock_guard<std::recursive_mutex> guard(stats_mutex_);
    ++requests_by_thread_[std::this_thread::get_id()];
  }

  void process_and_close_socket(socket_t sock) {
#ifdef MINIHTTP_OPENSSL_SUPPORT
    if (ssl_ctx_) {
      SSL* ssl = SSL_new(ssl_ctx_);
      if (ssl && SSL_set_fd(ssl, sock) == 1 && SSL_accept(ssl) == 1) {
        detail::SocketStream strm(sock, read_timeout_ms_, write_timeout_ms_, ssl);
        process_request(strm);
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      detail::shutdown_socket(sock);
      detail::close_socket(sock);
      return;
    }
#endif
    detail::SocketStream strm(sock, read_timeout_ms_, write_timeout_ms_);
    process_request(strm);
    detail::shutdown_socket(sock);
    detail::close_socket(sock);
  }

  bool process_request(detail::SocketStream& strm) {
    std::string line;
    if (!strm.getline(line)) return false;
    Request req;
    Response res;
    {
      auto sp1 = line.find(' ');
      auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
      if (sp1 == std::string::npos || sp2 == std::string::npos) {
        res.status = 400;
      } else {
        req.method = line.substr(0, sp1);
        auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        auto q = target.find('?');
        req.path = target.substr(0, q);
        if (q != std::string::npos) detail::parse_query(target.substr(q + 1), req.params);
      }
    }
    if (res.status == -1 && !detail::read_headers(strm, req.headers)) return false;

    if (res.status == -1) {
      const Handler* handler = nullptr;
      {
        std::lock_guard<std::recursive_mutex> guard(stats_mutex_);
        note_request();
        for (const auto& [path, h] : handlers_) {
          if (req.method == "GET" && path == req.path) handler = &h;
        }
      }
      if (handler) {
        res.status = 200;
        (*handler)(req, res);
      } else {
        res.status = 404;
      }
    }

    std::string out = "HTTP/1.1 " + std::to_string(res.status) + " " +
                      detail::status_message(res.status) + "\r\n";
    res.headers["Content-Length"] = std::to_string(res.body.size());
    res.headers["Connection"] = "close";
    for (const auto& [k, v] : res.headers) out += k + ": " + v + "\r\n";
    out += "\r\n";
    out += res.body;
    return strm.write_all(out);
  }

  std::vector<std::pair<std::string, Handler>> handlers_;
  int read_timeout_ms_ = MINIHTTP_READ_TIMEOUT_MSEC;
  int write_timeout_ms_ = MINIHTTP_WRITE_TIMEOUT_MSEC;
  std::atomic<socket_t> svr_sock_;
  std::atomic<bool> is_running_;
  mutable std::recursive_mutex stats_mutex_;
  std::map<std::thread::id, size_t> requests_by_thread_;
#ifdef MINIHTTP_OPENSSL_SUPPORT
  SSL_CTX* ssl_ctx_ = nullptr;
#endif
};

class Client {
 public:
  Client(std::string host, int port) : host_(std::move(host)), port_(port) {}

  ~Client() {
    std::lock_guard<std::recursive_mutex> guard(socket_mutex_);
    close_socket_locked();
#ifdef MINIHTTP_OPENSSL_SUPPORT
    SSL_CTX_free(ssl_ctx_);
#endif
  }

#ifdef MINIHTTP_OPENSSL_SUPPORT
  // HTTPS: the server's certificate must chain to `ca_path` and name the host.
  bool enable_tls(const std::string& ca_path) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_load_verify_locations(ctx, ca_path.c_str(), nullptr) != 1) {
      SSL_CTX_free(ctx);
      return false;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_free(ssl_ctx_);
    ssl_ctx_ = ctx;
    return true;
  }
#endif

  void set_connection_timeout(int msec) { connection_timeout_ms_ = msec; }
  void set_read_timeout(int msec) { read_timeout_ms_ = msec; }

  Result Get(const std::string& path) {
    // Several threads may share one client: one request at a time on its socket.
    std::lock_guard<std::recursive_mutex> request_guard(socket_mutex_);
    socket_requests_are_from_thread_ = std::this_thread::get_id();
    auto res = std::make_unique<Response>();
    auto err = send_locked(path, *res);
    socket_requests_are_from_thread_ = std::thread::id();
    if (err != Error::Success) return Result(nullptr, err);
    return Result(std::move(res), Error::Success);
  }

 private:
  Error connect_locked() {
    Error error = Error::Success;
    auto sock = detail::create_socket(
        host_, port_, 0, true, [&](socket_t sock2, struct addrinfo& ai) -> bool {
          detail::set_nonblocking(sock2, true);
          auto ret = ::connect(sock2, ai.ai_addr, static_cast<socklen_t>(ai.ai_addrlen));
          if (ret < 0) {
            if (errno != EINPROGRESS) {
              error = Error::Connection;
              return false;
            }
            error = detail::wait_until_socket_is_ready(sock2, connection_timeout_ms_);
            if (error != Error::Success) return false;
          }
          detail::set_nonblocking(sock2, false);
          error = Error::Success;
          return true;
        });
    if (sock == INVALID_SOCKET) return error == Error::Success ? Error::Connection : error;
    sock_ = sock;
    return Error::Success;
  }

  void close_socket_locked() {
    // Only the thread that is making the request may close the socket under it.
    if (socket_requests_are_from_thread_ != std::thread::id() &&
        socket_requests_are_from_thread_ != std::this_thread::get_id()) {
      return;
    }
    if (sock_ != INVALID_SOCKET) {
      detail::close_socket(sock_);
      sock_ = INVALID_SOCKET;
    }
  }

  Error send_locked(const std::string& path, Response& res) {
    if (sock_ == INVALID_SOCKET) {
      auto err = connect_locked();
      if (err != Error::Success) return err;
    }
    void* ssl = nullptr;
#ifdef MINIHTTP_OPENSSL_SUPPORT
    SSL* tls = nullptr;
    if (ssl_ctx_) {
      tls = SSL_new(ssl_ctx_);
      if (!tls || SSL_set_fd(tls, sock_) != 1 || SSL_set1_host(tls, host_.c_str()) != 1 ||
          SSL_connect(tls) != 1) {
        SSL_free(tls);
        close_socket_locked();
        return Error::SSLConnection;
      }
      ssl = tls;
    }
#endif
    detail::SocketStream strm(sock_, read_timeout_ms_, write_timeout_ms_, ssl);
    auto err = exchange(strm, path, res);
#ifdef MINIHTTP_OPENSSL_SUPPORT
    if (tls) {
      SSL_shutdown(tls);
      SSL_free(tls);
    }
#endif
    close_socket_locked();  // Connection: close
    return err;
  }

  Error exchange(detail::SocketStream& strm, const std::string& path, Response& res) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) +
                      "\r\nConnection: close\r\nUser-Agent: minihttp/0.1\r\n\r\n";
    if (!strm.write_all(req)) {
      return Error::Write;
    }
    std::string line;
    if (!strm.getline(line) || line.compare(0, 5, "HTTP/") != 0) {
      return Error::Read;
    }
    auto sp = line.find(' ');
    res.status = std::atoi(line.c_str() + sp + 1);
    if (!detail::read_headers(strm, res.headers)) {
      return Error::Read;
    }
    auto len = res.headers.find("Content-Length");
    if (len != res.headers.end() &&
        !strm.read_exactly(res.body, static_cast<size_t>(std::stoul(len->second)))) {
      return Error::Read;
    }
    return Error::Success;
  }

  std::string host_;
  int port_;
  int connection_timeout_ms_ = MINIHTTP_CONNECTION_TIMEOUT_MSEC;
  int read_timeout_ms_ = MINIHTTP_READ_TIMEOUT_MSEC;
  int write_timeout_ms_ = MINIHTTP_WRITE_TIMEOUT_MSEC;
  std::recursive_mutex socket_mutex_;
  socket_t sock_ = INVALID_SOCKET;
  std::thread::id socket_requests_are_from_thread_;
#ifdef MINIHTTP_OPENSSL_SUPPORT
  SSL_CTX* ssl_ctx_ = nullptr;
#endif
};

}  // namespace minihttp

#endif  // MINIHTTP_MINIHTTP_H
