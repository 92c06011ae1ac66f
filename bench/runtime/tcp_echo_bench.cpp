// TCP echo over loopback at 1,000 concurrent connections: fibers on one thread vs
// thread-per-connection. Reports requests/s and the echo server's peak RSS for each side.
//
// Layout of one round (the driver, run without arguments, alternates balrog and thread
// rounds after one discarded warm-up round of each):
//   - a server process (this program with `--server balrog|threads`) listens on
//     127.0.0.1:<ephemeral>, prints its port, serves until its stdin reaches EOF, then prints
//     its VmHWM (peak RSS) and exits;
//   - a client process (`--client balrog|threads --port P`) opens C connections, waits until
//     all are connected, then every connection runs request/response in a loop — write a
//     64-byte message, read the 64-byte echo — for a fixed duration (default 1.5 s). It prints
//     the requests completed within that window, the window's length and its own VmHWM.
// requests/s = completed requests / window. Server and client are separate processes so the
// server's peak RSS is its own; both share the machine's 2 cores (the load generator costs
// about as much CPU as the server: the numbers are for the pair, not for the server alone).
//
//  balrog side: server = one thread in balrog::run, an acceptor fiber and one fiber per
//    connection (default guarded stacks; net::stream read_some / write_all); client = one
//    thread in balrog::run with one fiber per connection.
//  thread side: server = an acceptor thread and one std::thread per connection doing blocking
//    read(2) / write(2); client = one std::thread per connection, blocking sockets. With
//    C = 1000 that is about 2,000 threads on 2 cores. Threads keep glibc's default stack size
//    (8 MiB of address space; only touched pages count in RSS), unless --thread-stack-kib is
//    given, which sets the default through pthread_setattr_default_np (std::thread then uses
//    it).
// Both sides set TCP_NODELAY on every socket.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/io.hpp"
#include "balrog/net.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/sync/wait_group.hpp"
#include "balrog/this_fiber.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;
namespace net = balrog::net;

constexpr std::size_t message_bytes = 64;

struct settings {
  std::size_t connections = 1000;
  double seconds = 1.5;
  std::size_t thread_stack_kib = 0;  // 0: glibc's default
};

[[noreturn]] void fail_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void print_record(const record& r) {
  std::printf("%s\n", format_record(r).c_str());
  std::fflush(stdout);
}

// Blocks until the driver closes our stdin (fd 0). On a fiber it parks in the reactor.
void wait_for_stdin_eof(bool on_fiber) {
  char buf[64];
  for (;;) {
    if (on_fiber) balrog::wait_readable(0);
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n == 0) return;
    if (n < 0 && errno != EINTR && errno != EAGAIN) fail_errno("read(stdin)");
  }
}

void use_thread_stack_size(std::size_t kib) {
  if (kib == 0) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kib * 1024);
  if (pthread_setattr_default_np(&attr) != 0) throw std::runtime_error("pthread_setattr_default");
  pthread_attr_destroy(&attr);
}

void set_nodelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) fail_errno("nodelay");
}

// --- balrog side ---------------------------------------------------------------------------

void balrog_server() {
  record r;
  balrog::run([&] {
    net::listener l = net::listen(net::endpoint::loopback(0), {.backlog = 4096});
    print_record({{"port", l.local_endpoint().port()}});
    r["baseline_rss"] = static_cast<double>(rss_bytes());
    std::size_t accepted = 0;
    auto acceptor = balrog::spawn([&] {
      try {
        for (;;) {
          net::stream s = l.accept();
          ++accepted;
          balrog::spawn([s = std::move(s)]() mutable {
            s.set_nodelay(true);
            std::array<std::byte, 4096> buf;
            try {
              for (;;) {
                const std::size_t n = s.read_some(buf);
                if (n == 0) return;
                s.write_all(std::span<const std::byte>(buf.data(), n));
              }
            } catch (const balrog::io_error&) {
              // the client went away mid-request: the connection is done
            }
          }).detach();
        }
      } catch (const balrog::io_error&) {
        // the listener was closed: stop accepting
      }
    });
    wait_for_stdin_eof(true);
    l.close();
    acceptor.join();
    r["connections"] = static_cast<double>(accepted);
  });  // connection fibers end on EOF once the client process is gone
  r["peak_rss"] = static_cast<double>(peak_rss_bytes());
  print_record(r);
}

void balrog_client(std::uint16_t port, const settings& cfg) {
  record r;
  balrog::run([&] {
    balrog::wait_group connected;
    balrog::event go;
    bool stop = false;
    std::uint64_t total = 0;
    connected.add(static_cast<std::ptrdiff_t>(cfg.connections));
    std::vector<balrog::fiber<void>> clients;
    clients.reserve(cfg.connections);
    for (std::size_t i = 0; i < cfg.connections; ++i) {
      clients.push_back(balrog::spawn([&] {
        net::stream s = net::connect(net::endpoint::loopback(port));
        s.set_nodelay(true);
        connected.done();
        go.wait();
        std::array<std::byte, message_bytes> msg{};
        std::array<std::byte, message_bytes> echo{};
        std::uint64_t done = 0;
        while (!stop) {
          s.write_all(msg);
          s.read_exact(echo);
          if (!stop) ++done;
        }
        total += done;
      }));
    }
    connected.wait();
    const std::int64_t t0 = now_ns();
    go.set();
    balrog::this_fiber::sleep_for(std::chrono::duration<double>(cfg.seconds));
    stop = true;
    const std::int64_t t1 = now_ns();
    for (auto& c : clients) c.join();
    r["requests"] = static_cast<double>(total);
    r["seconds"] = static_cast<double>(t1 - t0) / 1e9;
  });
  r["peak_rss"] = static_cast<double>(peak_rss_bytes());
  print_record(r);
}

// --- thread side ---------------------------------------------------------------------------

void write_all_fd(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_errno("write");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void thread_server(const settings& cfg) {
  use_thread_stack_size(cfg.thread_stack_kib);
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) fail_errno("socket");
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const net::endpoint at = net::endpoint::loopback(0);
  if (::bind(lfd, at.data(), at.size()) != 0) fail_errno("bind");
  if (::listen(lfd, 4096) != 0) fail_errno("listen");
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&bound), &len);
  print_record({{"port", ntohs(bound.sin_port)}});
  record r;
  r["baseline_rss"] = static_cast<double>(rss_bytes());

  std::vector<std::thread> workers;  // touched by the acceptor only, until it is joined
  std::thread acceptor([&] {
    for (;;) {
      const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // EINVAL once main shut the listener down
      }
      set_nodelay(fd);
      workers.emplace_back([fd] {
        std::array<std::byte, 4096> buf;
        for (;;) {
          const ssize_t n = ::read(fd, buf.data(), buf.size());
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;  // EOF or reset
          try {
            write_all_fd(fd, buf.data(), static_cast<std::size_t>(n));
          } catch (const std::system_error&) {
            break;
          }
        }
        ::close(fd);
      });
    }
  });
  wait_for_stdin_eof(false);
  ::shutdown(lfd, SHUT_RDWR);  // wakes accept() with EINVAL
  acceptor.join();
  for (auto& w : workers) w.join();
  ::close(lfd);
  r["connections"] = static_cast<double>(workers.size());
  r["peak_rss"] = static_cast<double>(peak_rss_bytes());
  print_record(r);
}

void thread_client(std::uint16_t port, const settings& cfg) {
  use_thread_stack_size(cfg.thread_stack_kib);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> connected{0};
  std::atomic<std::uint64_t> total{0};
  std::atomic<bool> failed{false};
  std::latch go(1);
  std::vector<std::thread> clients;
  clients.reserve(cfg.connections);
  const net::endpoint to = net::endpoint::loopback(port);
  for (std::size_t i = 0; i < cfg.connections; ++i) {
    clients.emplace_back([&] {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0 || ::connect(fd, to.data(), to.size()) != 0) {
        failed = true;
        connected.fetch_add(1);
        return;
      }
      set_nodelay(fd);
      connected.fetch_add(1);
      go.wait();
      std::array<std::byte, message_bytes> msg{};
      std::array<std::byte, message_bytes> echo{};
      std::uint64_t done = 0;
      try {
        while (!stop.load(std::memory_order_relaxed)) {
          write_all_fd(fd, msg.data(), msg.size());
          std::size_t got = 0;
          while (got < echo.size()) {
            const ssize_t n = ::read(fd, echo.data() + got, echo.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) fail_errno("read echo");
            got += static_cast<std::size_t>(n);
          }
          if (!stop.load(std::memory_order_relaxed)) ++done;
        }
      } catch (const std::system_error&) {
        failed = true;
      }
      total.fetch_add(done);
      ::close(fd);
    });
  }
  while (connected.load() < cfg.connections)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::int64_t t0 = now_ns();
  go.count_down();
  std::this_thread::sleep_for(std::chrono::duration<double>(cfg.seconds));
  stop = true;
  const std::int64_t t1 = now_ns();
  for (auto& c : clients) c.join();
  if (failed) throw std::runtime_error("a client connection failed");
  record r;
  r["requests"] = static_cast<double>(total.load());
  r["seconds"] = static_cast<double>(t1 - t0) / 1e9;
  r["peak_rss"] = static_cast<double>(peak_rss_bytes());
  print_record(r);
}

// --- driver --------------------------------------------------------------------------------

struct round_result {
  double requests_per_s;
  double server_peak_mib;
  double client_peak_mib;
  double cpu_us_per_request;  // server + client processes, whole run (setup included)
};

round_result run_round(const std::string& side, const settings& cfg) {
  const std::vector<std::string> common = {
      "--connections",      std::to_string(cfg.connections),
      "--seconds",          std::to_string(cfg.seconds),
      "--thread-stack-kib", std::to_string(cfg.thread_stack_kib)};
  std::vector<std::string> server_args = {"--server", side};
  server_args.insert(server_args.end(), common.begin(), common.end());
  child_process server(server_args);
  const record port = parse_record(server.expect_line("its port"));
  std::vector<std::string> client_args = {"--client", side, "--port", json_number(port.at("port"))};
  client_args.insert(client_args.end(), common.begin(), common.end());
  const record client = run_child(client_args);
  server.close_stdin();
  const record stats = parse_record(server.expect_line("its statistics"));
  server.wait_success();
  if (stats.at("connections") != static_cast<double>(cfg.connections)) {
    throw std::runtime_error(side + " server accepted " + json_number(stats.at("connections")) +
                             " connections, expected " + std::to_string(cfg.connections));
  }
  constexpr double mib = 1024.0 * 1024.0;
  const double cpu_s = server.cpu_seconds() + client.at("child_cpu_s");
  return {client.at("requests") / client.at("seconds"), stats.at("peak_rss") / mib,
          client.at("peak_rss") / mib, cpu_s * 1e6 / client.at("requests")};
}

void driver(const options& opt, const settings& cfg) {
  std::vector<round_result> fibers;
  std::vector<round_result> threads;
  const samples s = alternate(
      opt.rounds,
      [&] {
        fibers.push_back(run_round("balrog", cfg));
        return fibers.back().requests_per_s;
      },
      [&] {
        threads.push_back(run_round("threads", cfg));
        return threads.back().requests_per_s;
      });
  // alternate() ran one warm-up round of each side first: drop it here too.
  fibers.erase(fibers.begin());
  threads.erase(threads.begin());
  auto column = [](const std::vector<round_result>& v, double round_result::*field) {
    std::vector<double> out;
    for (const auto& r : v) out.push_back(r.*field);
    return out;
  };
  const std::string conns = std::to_string(cfg.connections);
  const std::string how = "127.0.0.1, " + conns + " connections, 64-byte request/response, " +
                          json_number(cfg.seconds) +
                          " s per round; server and load generator are separate processes on "
                          "the same 2 cores; balrog: 1 thread each, a fiber per connection; "
                          "peer: a thread per connection on both sides";
  case_result rate("TCP echo, " + conns + " connections: throughput", "requests/s", "higher",
                   "thread per connection");
  rate.balrog_samples = s.balrog;
  rate.peer_samples = s.peer;
  rate.note = how;
  rate.with("connections", static_cast<double>(cfg.connections));
  rate.with("seconds_per_round", cfg.seconds);
  emit(rate);
  case_result rss("TCP echo, " + conns + " connections: server peak RSS", "MiB", "lower",
                  "thread per connection");
  rss.balrog_samples = column(fibers, &round_result::server_peak_mib);
  rss.peer_samples = column(threads, &round_result::server_peak_mib);
  rss.note = "VmHWM of the echo server process (" + how + ")";
  rss.with("client_peak_rss_mib", median(column(fibers, &round_result::client_peak_mib)));
  rss.with("peer_client_peak_rss_mib", median(column(threads, &round_result::client_peak_mib)));
  rss.with("thread_stack_kib", static_cast<double>(cfg.thread_stack_kib));
  emit(rss);
  // CPU time per request is steadier than requests/s on a shared, noisy machine: other work
  // takes CPU away from the pair, but hardly changes what each request costs.
  case_result cpu("TCP echo, " + conns + " connections: CPU per request", "us", "lower",
                  "thread per connection");
  cpu.balrog_samples = column(fibers, &round_result::cpu_us_per_request);
  cpu.peer_samples = column(threads, &round_result::cpu_us_per_request);
  cpu.note =
      "(user + system CPU time of the server and client processes, from wait4) / "
      "completed requests; includes connection setup and teardown (" +
      how + ")";
  emit(cpu);
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    settings cfg;
    std::string server_side;
    std::string client_side;
    std::uint16_t port = 0;
    for (std::size_t i = 0; i + 1 < opt.rest.size(); i += 2) {
      const std::string& key = opt.rest[i];
      const std::string& value = opt.rest[i + 1];
      if (key == "--connections") {
        cfg.connections = std::stoul(value);
      } else if (key == "--seconds") {
        cfg.seconds = std::stod(value);
      } else if (key == "--thread-stack-kib") {
        cfg.thread_stack_kib = std::stoul(value);
      } else if (key == "--server") {
        server_side = value;
      } else if (key == "--client") {
        client_side = value;
      } else if (key == "--port") {
        port = static_cast<std::uint16_t>(std::stoul(value));
      } else {
        throw std::runtime_error("unknown argument " + key);
      }
    }
    if (server_side == "balrog") return balrog_server();
    if (server_side == "threads") return thread_server(cfg);
    if (client_side == "balrog") return balrog_client(port, cfg);
    if (client_side == "threads") return thread_client(port, cfg);
    driver(opt, cfg);
  });
}
