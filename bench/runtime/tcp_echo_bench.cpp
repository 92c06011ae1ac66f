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
//
// Reference, not run by default: `--peer epoll` makes the driver compare balrog with a plain
// single-threaded epoll pair instead (`--server epoll` / `--client epoll`: one thread each,
// non-blocking sockets, level-triggered EPOLLIN, one recv and one send per message), the floor
// for what one event-loop thread per process can cost on this protocol.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
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
#include "balrog/net.hpp"
#include "balrog/run.hpp"
#include "echo_load.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;
namespace net = balrog::net;

struct settings : echo_settings {
  settings() : echo_settings(1.5) {}
  std::size_t thread_stack_kib = 0;  // 0: glibc's default
  // The driver's peer: "threads" (the published case), or "epoll", the plain single-threaded
  // epoll pair on both sides (a reference for the runtime's overhead; never run by default).
  std::string peer = "threads";
};

[[noreturn]] void fail_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
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
          balrog::spawn([s = std::move(s)]() mutable { serve_echo(std::move(s)); }).detach();
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
  record r = run_balrog_echo_load(port, cfg.connections, cfg.seconds);
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

// A TCP listener on 127.0.0.1 at an ephemeral port, announced to the driver as {"port": P}.
int listen_on_loopback(int socket_type) {
  const int lfd = ::socket(AF_INET, socket_type, 0);
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
  return lfd;
}

void thread_server(const settings& cfg) {
  use_thread_stack_size(cfg.thread_stack_kib);
  const int lfd = listen_on_loopback(SOCK_STREAM | SOCK_CLOEXEC);
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
      std::array<std::byte, echo_message_bytes> msg{};
      std::array<std::byte, echo_message_bytes> echo{};
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

// --- reference side: a plain single-threaded epoll loop (not run by default) ---------------
//
// What a hand-written C-style event loop costs on the same protocol: the floor balrog's
// reactor is measured against (`--peer epoll`; docs/benchmarks.md). One thread per process,
// non-blocking sockets, level-triggered EPOLLIN only, one read and one write per message, no
// timers, no wake-up fd: nothing but the protocol.

int epoll_create_or_fail() {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail_errno("epoll_create1");
  return ep;
}

void epoll_add_or_fail(int ep, int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) fail_errno("epoll_ctl");
}

void epoll_server() {
  const int lfd = listen_on_loopback(SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK);
  record r;
  r["baseline_rss"] = static_cast<double>(rss_bytes());

  const int ep = epoll_create_or_fail();
  epoll_add_or_fail(ep, lfd, EPOLLIN);
  epoll_add_or_fail(ep, 0, EPOLLIN);  // the driver closes our stdin to stop us
  // Bytes an echo could not write at once, per fd (never seen with 64-byte messages and one
  // in flight per connection, but a reference must be correct): the fd then waits for
  // EPOLLOUT instead of EPOLLIN until they are written.
  std::vector<std::string> pending;
  std::size_t accepted = 0;
  std::array<epoll_event, 256> events;
  std::array<char, 4096> buf;
  bool done = false;
  auto close_conn = [&](int fd) {
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
  };
  while (!done) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == 0) {
        const ssize_t got = ::read(0, buf.data(), buf.size());
        if (got == 0) done = true;
        continue;
      }
      if (fd == lfd) {
        for (;;) {
          const int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (c < 0) break;  // EAGAIN: all taken
          set_nodelay(c);
          if (pending.size() <= static_cast<std::size_t>(c))
            pending.resize(static_cast<std::size_t>(c) + 1);
          epoll_add_or_fail(ep, c, EPOLLIN);
          ++accepted;
        }
        continue;
      }
      std::string& out = pending[static_cast<std::size_t>(fd)];
      if (!out.empty()) {  // EPOLLOUT: finish the echo, then read again
        const ssize_t w = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          close_conn(fd);
          continue;
        }
        if (w > 0) out.erase(0, static_cast<std::size_t>(w));
        if (out.empty()) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = fd;
          ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        }
        continue;
      }
      const ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
      if (got < 0 && errno == EAGAIN) continue;
      if (got <= 0) {  // EOF or reset: the client is gone
        close_conn(fd);
        continue;
      }
      const ssize_t w = ::send(fd, buf.data(), static_cast<std::size_t>(got), MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN) {
        close_conn(fd);
        continue;
      }
      const std::size_t sent = w < 0 ? 0 : static_cast<std::size_t>(w);
      if (sent < static_cast<std::size_t>(got)) {
        out.assign(buf.data() + sent, static_cast<std::size_t>(got) - sent);
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.fd = fd;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
      }
    }
  }
  ::close(ep);
  ::close(lfd);
  r["connections"] = static_cast<double>(accepted);
  r["peak_rss"] = static_cast<double>(peak_rss_bytes());
  print_record(r);
}

void epoll_client(std::uint16_t port, const settings& cfg) {
  const net::endpoint to = net::endpoint::loopback(port);
  const int ep = epoll_create_or_fail();
  std::vector<int> fds;
  std::vector<std::size_t> got;  // bytes of the current echo read so far, per fd
  for (std::size_t i = 0; i < cfg.connections; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, to.data(), to.size()) != 0) fail_errno("connect");
    set_nodelay(fd);
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) fail_errno("fcntl");
    if (got.size() <= static_cast<std::size_t>(fd)) got.resize(static_cast<std::size_t>(fd) + 1);
    epoll_add_or_fail(ep, fd, EPOLLIN);
    fds.push_back(fd);
  }
  std::array<std::byte, echo_message_bytes> msg{};
  std::array<std::byte, echo_message_bytes> echo{};
  // One message in flight per connection, 64 bytes into an empty send buffer: a send is
  // never short; if it were, this reference would be wrong, so it says so.
  auto send_message = [&](int fd) {
    const ssize_t w = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
    if (w != static_cast<ssize_t>(msg.size())) fail_errno("send (short or failed)");
  };
  std::uint64_t done = 0;
  const std::int64_t t0 = now_ns();
  const auto window = static_cast<std::int64_t>(cfg.seconds * 1e9);
  for (const int fd : fds) send_message(fd);
  std::array<epoll_event, 256> events;
  std::int64_t now = t0;
  while (now - t0 < window) {
    const std::int64_t left_ms = (window - (now - t0) + 999'999) / 1'000'000;
    const int n =
        ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), static_cast<int>(left_ms));
    if (n < 0 && errno != EINTR) fail_errno("epoll_wait");
    now = now_ns();
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      std::size_t& have = got[static_cast<std::size_t>(fd)];
      const ssize_t r = ::recv(fd, echo.data() + have, echo.size() - have, 0);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) fail_errno("read echo");
      have += static_cast<std::size_t>(r);
      if (have < echo.size()) continue;
      have = 0;
      if (now - t0 < window) {
        ++done;  // a reply that arrives after the window does not count
        send_message(fd);
      }
    }
  }
  const std::int64_t t1 = now;
  for (const int fd : fds) ::close(fd);
  ::close(ep);
  record r;
  r["requests"] = static_cast<double>(done);
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
  const echo_round r =
      run_echo_round({"--server", side}, {"--client", side}, common, cfg.connections, side);
  constexpr double mib = 1024.0 * 1024.0;
  const double cpu_s = r.server_cpu_s + r.client.at("child_cpu_s");
  return {r.client.at("requests") / r.client.at("seconds"), r.server.at("peak_rss") / mib,
          r.client.at("peak_rss") / mib, cpu_s * 1e6 / r.client.at("requests")};
}

void driver(const options& opt, const settings& cfg) {
  const echo_rounds<round_result> rounds = alternate_echo_rounds(
      opt.rounds, [&] { return run_round("balrog", cfg); },
      [&] { return run_round(cfg.peer, cfg); });
  const std::vector<round_result>& fibers = rounds.balrog;
  const std::vector<round_result>& threads = rounds.peer;
  const std::string conns = std::to_string(cfg.connections);
  const bool epoll_peer = cfg.peer == "epoll";
  const std::string peer_name =
      epoll_peer ? "single-threaded epoll loop (reference)" : "thread per connection";
  const std::string how = echo_setup_note(cfg.connections, cfg.seconds) +
                          " per round; server and load generator are separate processes on "
                          "the same 2 cores; balrog: 1 thread each, a fiber per connection; " +
                          (epoll_peer ? std::string("peer: one thread each, a plain level-"
                                                    "triggered epoll loop")
                                      : std::string("peer: a thread per connection on both "
                                                    "sides"));
  case_result rate("TCP echo, " + conns + " connections: throughput", "requests/s", "higher",
                   peer_name);
  rate.balrog_samples = column(fibers, &round_result::requests_per_s);
  rate.peer_samples = column(threads, &round_result::requests_per_s);
  rate.note = how;
  rate.with("connections", static_cast<double>(cfg.connections));
  rate.with("seconds_per_round", cfg.seconds);
  emit(rate);
  case_result rss("TCP echo, " + conns + " connections: server peak RSS", "MiB", "lower",
                  peer_name);
  rss.balrog_samples = column(fibers, &round_result::server_peak_mib);
  rss.peer_samples = column(threads, &round_result::server_peak_mib);
  rss.note = "VmHWM of the echo server process (" + how + ")";
  rss.with("client_peak_rss_mib", median(column(fibers, &round_result::client_peak_mib)));
  rss.with("peer_client_peak_rss_mib", median(column(threads, &round_result::client_peak_mib)));
  rss.with("thread_stack_kib", static_cast<double>(cfg.thread_stack_kib));
  emit(rss);
  // CPU time per request is steadier than requests/s on a shared, noisy machine: other work
  // takes CPU away from the pair, but hardly changes what each request costs.
  case_result cpu("TCP echo, " + conns + " connections: CPU per request", "us", "lower", peer_name);
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
    settings cfg;
    const echo_args args =
        parse_echo_args(argc, argv, cfg, [&](const std::string& key, const std::string& value) {
          if (key == "--thread-stack-kib") {
            cfg.thread_stack_kib = std::stoul(value);
            return true;
          }
          if (key == "--peer" && (value == "threads" || value == "epoll")) {
            cfg.peer = value;
            return true;
          }
          return false;
        });
    if (args.server == "balrog") return balrog_server();
    if (args.server == "threads") return thread_server(cfg);
    if (args.client == "balrog") return balrog_client(args.port, cfg);
    if (args.client == "threads") return thread_client(args.port, cfg);
    if (args.server == "epoll") return epoll_server();
    if (args.client == "epoll") return epoll_client(args.port, cfg);
    driver(args.opt, cfg);
  });
}
