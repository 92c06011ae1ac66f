// TCP echo over loopback: balrog::per_shard_server with 2 shards vs the same server with 1 shard.
//
// Layout of one round (the driver, run without arguments, alternates 2-shard and 1-shard rounds
// after one discarded warm-up round of each):
//   - a server process (this program with `--server N`) runs balrog::runtime({.threads = N})
//     and, on its main fiber, a balrog::per_shard_server on 127.0.0.1:<ephemeral>: one
//     SO_REUSEPORT listener and acceptor fiber per shard, the kernel spreads connections over
//     them, and every connection is served by a fiber on the shard that accepted it
//     (net::stream read_some / write_all, TCP_NODELAY). It prints its port, serves until its
//     stdin reaches EOF, then prints how many connections each shard accepted and its VmHWM;
//   - a load generator process (`--client --port P`), the same for both sides: one thread in
//     balrog::run with one fiber per connection. It opens C connections (default 1000), waits
//     until all are connected, then every connection runs request/response in a loop — write a
//     64-byte message, read the 64-byte echo — for a fixed window (default 1.0 s), and prints
//     the requests completed within the window and the window's length.
// requests/s = completed requests / window. CPU per request = (user + system CPU time of both
// processes, from wait4, whole run including connection setup) / completed requests.
//
// This machine has 2 cores and the load generator runs on them too. With 1 shard the pair is
// 2 busy threads on 2 cores; with 2 shards it is 3 threads on 2 cores. Two shards therefore
// cannot double the throughput here: at best they let the server use whatever CPU the load
// generator leaves, and they add cross-core wake-ups. The numbers describe the pair.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "balrog/debug.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/io.hpp"
#include "balrog/net.hpp"
#include "balrog/per_shard_server.hpp"
#include "balrog/run.hpp"
#include "balrog/runtime.hpp"
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
  double seconds = 1.0;
};

void print_record(const record& r) {
  std::printf("%s\n", format_record(r).c_str());
  std::fflush(stdout);
}

// Blocks the calling fiber (parked in the reactor) until the driver closes our stdin.
void wait_for_stdin_eof() {
  char buf[64];
  for (;;) {
    balrog::wait_readable(0);
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n == 0) return;
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      throw std::system_error(errno, std::generic_category(), "read(stdin)");
    }
  }
}

void echo(net::stream s) {
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
}

void server(std::size_t shards) {
  record r;
  balrog::runtime rt({.threads = shards});
  rt.run([&] {
    net::listen_options lo;
    lo.backlog = 4096;
    balrog::per_shard_server srv(net::endpoint::loopback(0), echo, lo);
    print_record({{"port", srv.local_endpoint().port()}});
    r["baseline_rss"] = static_cast<double>(rss_bytes());
    wait_for_stdin_eof();
    const std::vector<std::size_t> accepted = srv.accepted_per_shard();
    srv.stop();
    double total = 0;
    for (std::size_t i = 0; i < accepted.size(); ++i) {
      r["accepted_" + std::to_string(i)] = static_cast<double>(accepted[i]);
      total += static_cast<double>(accepted[i]);
    }
    r["connections"] = total;
  });  // connection fibers end on EOF once the client process is gone
  r["peak_rss"] = static_cast<double>(peak_rss_bytes());
  print_record(r);
}

void client(std::uint16_t port, const settings& cfg) {
  // Spawning 1000 fibers (and their first stack mappings) on the main fiber without
  // yielding can take over 100 ms on a busy machine: the watchdog's stall report would be a
  // false alarm in the load generator, so it is off here (the server keeps it).
  balrog::set_watchdog({.threshold = std::chrono::milliseconds(0)});
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
        std::array<std::byte, message_bytes> reply{};
        std::uint64_t done = 0;
        while (!stop) {
          s.write_all(msg);
          s.read_exact(reply);
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
  print_record(r);
}

// --- driver --------------------------------------------------------------------------------

struct round_result {
  double requests_per_s;
  double cpu_us_per_request;  // server + client processes, whole run (setup included)
  double server_cpu_s;
  double client_cpu_s;
  double wall_s;               // the measured window
  double busiest_shard_share;  // connections accepted by the busiest shard / all
  double server_peak_mib;
};

round_result run_round(std::size_t shards, const settings& cfg) {
  const std::vector<std::string> common = {"--connections", std::to_string(cfg.connections),
                                           "--seconds", json_number(cfg.seconds)};
  std::vector<std::string> server_args = {"--server", std::to_string(shards)};
  server_args.insert(server_args.end(), common.begin(), common.end());
  child_process srv(server_args);
  const record port = parse_record(srv.expect_line("its port"));
  std::vector<std::string> client_args = {"--client", "balrog", "--port",
                                          json_number(port.at("port"))};
  client_args.insert(client_args.end(), common.begin(), common.end());
  const record cl = run_child(client_args);
  srv.close_stdin();
  const record stats = parse_record(srv.expect_line("its statistics"));
  srv.wait_success();
  if (stats.at("connections") != static_cast<double>(cfg.connections)) {
    throw std::runtime_error(std::to_string(shards) + "-shard server accepted " +
                             json_number(stats.at("connections")) + " connections, expected " +
                             std::to_string(cfg.connections));
  }
  double busiest = 0;
  for (std::size_t i = 0; i < shards; ++i) {
    busiest = std::max(busiest, stats.at("accepted_" + std::to_string(i)));
  }
  const double cpu_s = srv.cpu_seconds() + cl.at("child_cpu_s");
  return {cl.at("requests") / cl.at("seconds"),
          cpu_s * 1e6 / cl.at("requests"),
          srv.cpu_seconds(),
          cl.at("child_cpu_s"),
          cl.at("seconds"),
          busiest / stats.at("connections"),
          stats.at("peak_rss") / (1024.0 * 1024.0)};
}

void driver(const options& opt, const settings& cfg) {
  std::vector<round_result> two;
  std::vector<round_result> one;
  const samples s = alternate(
      opt.rounds,
      [&] {
        two.push_back(run_round(2, cfg));
        return two.back().requests_per_s;
      },
      [&] {
        one.push_back(run_round(1, cfg));
        return one.back().requests_per_s;
      });
  two.erase(two.begin());  // alternate() ran one warm-up round of each side first
  one.erase(one.begin());
  auto column = [](const std::vector<round_result>& v, double round_result::*field) {
    std::vector<double> out;
    for (const auto& r : v) out.push_back(r.*field);
    return out;
  };
  const std::string conns = std::to_string(cfg.connections);
  const std::string how =
      "127.0.0.1, " + conns + " connections, 64-byte request/response, " +
      json_number(cfg.seconds) +
      " s window per round; server: balrog::per_shard_server in balrog::runtime({.threads = 2}) "
      "vs ({.threads = 1}); load generator: one separate process, one thread, a fiber per "
      "connection, the same for both. The load generator shares this machine's 2 cores with "
      "the server (1 shard: 2 busy threads on 2 cores; 2 shards: 3), so 2 shards cannot double "
      "the throughput here";
  case_result rate("TCP echo, " + conns + " connections: 2 shards vs 1, throughput", "requests/s",
                   "higher", "same server, 1 shard");
  rate.balrog_samples = s.balrog;
  rate.peer_samples = s.peer;
  rate.note = how;
  rate.with("connections", static_cast<double>(cfg.connections));
  rate.with("seconds_per_round", cfg.seconds);
  rate.with("busiest_shard_share_2_shards",
            median(column(two, &round_result::busiest_shard_share)));
  rate.with("server_peak_rss_mib", median(column(two, &round_result::server_peak_mib)));
  rate.with("peer_server_peak_rss_mib", median(column(one, &round_result::server_peak_mib)));
  emit(rate);

  // How much CPU each process got: with 2 shards the server can take more than one core's
  // worth, at the load generator's expense.
  std::vector<double> two_server_cores;
  std::vector<double> two_client_cores;
  std::vector<double> one_server_cores;
  std::vector<double> one_client_cores;
  for (const auto& r : two) {
    two_server_cores.push_back(r.server_cpu_s / r.wall_s);
    two_client_cores.push_back(r.client_cpu_s / r.wall_s);
  }
  for (const auto& r : one) {
    one_server_cores.push_back(r.server_cpu_s / r.wall_s);
    one_client_cores.push_back(r.client_cpu_s / r.wall_s);
  }
  case_result cpu("TCP echo, " + conns + " connections: 2 shards vs 1, CPU per request", "us",
                  "lower", "same server, 1 shard");
  cpu.balrog_samples = column(two, &round_result::cpu_us_per_request);
  cpu.peer_samples = column(one, &round_result::cpu_us_per_request);
  cpu.note =
      "(user + system CPU time of the server and load-generator processes, from wait4) / "
      "completed requests; includes connection setup and teardown. *_cores = a process's CPU "
      "seconds / the measured window (setup included, so slightly high) (" +
      how + ")";
  cpu.with("server_cores_2_shards", median(two_server_cores));
  cpu.with("client_cores_2_shards", median(two_client_cores));
  cpu.with("server_cores_1_shard", median(one_server_cores));
  cpu.with("client_cores_1_shard", median(one_client_cores));
  emit(cpu);
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    settings cfg;
    std::size_t server_shards = 0;
    bool is_client = false;
    std::uint16_t port = 0;
    for (std::size_t i = 0; i + 1 < opt.rest.size(); i += 2) {
      const std::string& key = opt.rest[i];
      const std::string& value = opt.rest[i + 1];
      if (key == "--connections") {
        cfg.connections = std::stoul(value);
      } else if (key == "--seconds") {
        cfg.seconds = std::stod(value);
      } else if (key == "--server") {
        server_shards = std::stoul(value);
      } else if (key == "--client") {
        is_client = true;
      } else if (key == "--port") {
        port = static_cast<std::uint16_t>(std::stoul(value));
      } else {
        throw std::runtime_error("unknown argument " + key);
      }
    }
    if (server_shards > 0) return server(server_shards);
    if (is_client) return client(port, cfg);
    driver(opt, cfg);
  });
}
