// thread_pool_http: a program on the vendored minihttp (vendor/minihttp/minihttp.h), written for
// OS threads as a user of a cpp-httplib-style library writes it. The server runs on a
// std::thread, its handler sleeps --sleep-ms, and --clients std::threads each make one request.
// stdout: the responses, in client order (the same in every build); stderr: one "stats:" line.
// With --tls-cert and --tls-key (and minihttp's MINIHTTP_OPENSSL_SUPPORT) it speaks HTTPS: the
// clients verify the server's certificate against --tls-cert.
//
// Built twice (CMakeLists.txt): as written, and rewritten by balrog_wrap() (with RUN_MAIN: its
// run-main pass makes main() run on balrog::run_main, so every std::thread here and in minihttp
// becomes a fiber of one thread). Nothing in this program is written for balrog.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <minihttp/minihttp.h>

namespace {

void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// The OS threads that ran handlers and clients (gettid, not std::thread::id: after the rewrite
// a thread id names a fiber).
class os_threads {
 public:
  void note() {
    const auto tid = static_cast<long>(::syscall(SYS_gettid));
    std::lock_guard<std::mutex> lock(mutex_);
    tids_.insert(tid);
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return tids_.size();
  }

 private:
  std::mutex mutex_;
  std::set<long> tids_;
};

// Nanoseconds the calling OS thread has spent waiting for a CPU while runnable
// (/proc/thread-self/schedstat's second field; 0 where it is missing). In the rewritten build
// every handler and client runs on this thread: on a busy machine this is what its elapsed time
// lost to other processes.
long long runqueue_wait_ns() {
  std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r");
  if (f == nullptr) return 0;
  long long on_cpu = 0;
  long long waiting = 0;
  if (std::fscanf(f, "%lld %lld", &on_cpu, &waiting) != 2) waiting = 0;
  std::fclose(f);
  return waiting;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 500;
  int pool = 0;  // 0: minihttp's default (MINIHTTP_THREAD_POOL_COUNT)
  int sleep_ms = 50;
  std::string host = "localhost";
  std::string tls_cert;  // HTTPS: the server's certificate (and the clients' CA), and its key
  std::string tls_key;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--clients") {
      clients = std::atoi(argv[i + 1]);
    } else if (flag == "--pool") {
      pool = std::atoi(argv[i + 1]);
    } else if (flag == "--sleep-ms") {
      sleep_ms = std::atoi(argv[i + 1]);
    } else if (flag == "--host") {
      host = argv[i + 1];
    } else if (flag == "--tls-cert") {
      tls_cert = argv[i + 1];
    } else if (flag == "--tls-key") {
      tls_key = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--clients N] [--pool N] [--sleep-ms MS] [--host H] "
                   "[--tls-cert PEM --tls-key PEM]\n",
                   argv[0]);
      return 2;
    }
  }
  raise_fd_limit();
  // A peer that closed first must not kill the process when SSL_shutdown writes its alert.
  std::signal(SIGPIPE, SIG_IGN);
#ifndef MINIHTTP_OPENSSL_SUPPORT
  if (!tls_cert.empty()) {
    std::fprintf(stderr, "thread_pool_http: built without MINIHTTP_OPENSSL_SUPPORT\n");
    return 2;
  }
#endif

  os_threads threads_seen;
  std::atomic<int> in_handler{0};
  std::atomic<int> most_in_handler{0};

  minihttp::Server svr;
  std::size_t pool_size = 0;
  svr.new_task_queue = [&] {
    auto* p = new minihttp::ThreadPool(pool > 0 ? static_cast<std::size_t>(pool)
                                                : MINIHTTP_THREAD_POOL_COUNT);
    pool_size = p->size();
    return p;
  };
  svr.Get("/hello", [&](const minihttp::Request& req, minihttp::Response& res) {
    threads_seen.note();
    const int now = ++in_handler;
    int most = most_in_handler.load();
    while (now > most && !most_in_handler.compare_exchange_weak(most, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    --in_handler;
    res.set_content("hello " + req.get_param_value("id") + "\n", "text/plain");
  });

#ifdef MINIHTTP_OPENSSL_SUPPORT
  if (!tls_cert.empty() && !svr.set_tls_certificate(tls_cert, tls_key)) {
    std::fprintf(stderr, "thread_pool_http: cannot load %s / %s\n", tls_cert.c_str(),
                 tls_key.c_str());
    return 2;
  }
#endif
  const int port = svr.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::perror("thread_pool_http: bind");
    return 2;
  }
  std::thread server_thread([&] { svr.listen_after_bind(); });
  svr.wait_until_ready();

  const long long waited_before = runqueue_wait_ns();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> responses(static_cast<std::size_t>(clients));
  std::vector<std::thread> client_threads;
  client_threads.reserve(responses.size());
  for (int i = 0; i < clients; ++i) {
    client_threads.emplace_back([&, i] {
      threads_seen.note();
      minihttp::Client cli(host, port);
#ifdef MINIHTTP_OPENSSL_SUPPORT
      if (!tls_cert.empty()) cli.enable_tls(tls_cert);
#endif
      auto res = cli.Get("/hello?id=" + std::to_string(i));
      std::string& out = responses[static_cast<std::size_t>(i)];
      if (res) {
        out = std::to_string(res->status) + " " + res->body;
      } else {
        out = std::string("error ") + minihttp::to_string(res.error()) + "\n";
      }
    });
  }
  for (auto& t : client_threads) t.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const long long waited = runqueue_wait_ns() - waited_before;

  svr.stop();
  server_thread.join();

  int ok = 0;
  for (int i = 0; i < clients; ++i) {
    const std::string& r = responses[static_cast<std::size_t>(i)];
    if (r.rfind("200 ", 0) == 0) ++ok;
    std::printf("client %d: %s", i, r.c_str());
  }
  std::fflush(stdout);
  std::size_t handled = 0;
  const auto by_thread = svr.requests_by_thread();
  for (const auto& [id, n] : by_thread) handled += n;
  std::fprintf(stderr,
               "stats: clients=%d ok=%d pool=%zu handled=%zu handler_ids=%zu "
               "most_in_handler=%d os_threads=%zu elapsed_ms=%.1f "
               "main_thread_runqueue_ms=%.1f\n",
               clients, ok, pool_size, handled, by_thread.size(), most_in_handler.load(),
               threads_seen.count(), std::chrono::duration<double, std::milli>(elapsed).count(),
               static_cast<double>(waited) / 1e6);
  return ok == clients ? 0 : 1;
}
