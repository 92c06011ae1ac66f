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
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "balrog/debug.hpp"
#include "balrog/net.hpp"
#include "balrog/per_shard_server.hpp"
#include "balrog/runtime.hpp"
#include "echo_load.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;
namespace net = balrog::net;

struct settings : echo_settings {
  settings() : echo_settings(1.0) {}
};

void server(std::size_t shards) {
  record r;
  balrog::runtime rt({.threads = shards});
  rt.run([&] {
    net::listen_options lo;
    lo.backlog = 4096;
    balrog::per_shard_server srv(net::endpoint::loopback(0), serve_echo, lo);
    print_record({{"port", srv.local_endpoint().port()}});
    r["baseline_rss"] = static_cast<double>(rss_bytes());
    wait_for_stdin_eof(true);
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
  print_record(run_balrog_echo_load(port, cfg.connections, cfg.seconds));
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
  const echo_round r = run_echo_round({"--server", std::to_string(shards)}, {"--client", "balrog"},
                                      common, cfg.connections, std::to_string(shards) + "-shard");
  const record& stats = r.server;
  const record& cl = r.client;
  double busiest = 0;
  for (std::size_t i = 0; i < shards; ++i) {
    busiest = std::max(busiest, stats.at("accepted_" + std::to_string(i)));
  }
  const double cpu_s = r.server_cpu_s + cl.at("child_cpu_s");
  return {cl.at("requests") / cl.at("seconds"),
          cpu_s * 1e6 / cl.at("requests"),
          r.server_cpu_s,
          cl.at("child_cpu_s"),
          cl.at("seconds"),
          busiest / stats.at("connections"),
          stats.at("peak_rss") / (1024.0 * 1024.0)};
}

void driver(const options& opt, const settings& cfg) {
  const echo_rounds<round_result> rounds = alternate_echo_rounds(
      opt.rounds, [&] { return run_round(2, cfg); }, [&] { return run_round(1, cfg); });
  const std::vector<round_result>& two = rounds.balrog;
  const std::vector<round_result>& one = rounds.peer;
  const std::string conns = std::to_string(cfg.connections);
  const std::string how =
      echo_setup_note(cfg.connections, cfg.seconds) +
      " window per round; server: balrog::per_shard_server in balrog::runtime({.threads = 2}) "
      "vs ({.threads = 1}); load generator: one separate process, one thread, a fiber per "
      "connection, the same for both. The load generator shares this machine's 2 cores with "
      "the server (1 shard: 2 busy threads on 2 cores; 2 shards: 3), so 2 shards cannot double "
      "the throughput here";
  case_result rate("TCP echo, " + conns + " connections: 2 shards vs 1, throughput", "requests/s",
                   "higher", "same server, 1 shard");
  rate.balrog_samples = column(two, &round_result::requests_per_s);
  rate.peer_samples = column(one, &round_result::requests_per_s);
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
    settings cfg;
    const echo_args args = parse_echo_args(argc, argv, cfg);
    const std::size_t server_shards = args.server.empty() ? 0 : std::stoul(args.server);
    if (server_shards > 0) return server(server_shards);
    if (!args.client.empty()) return client(args.port, cfg);
    driver(args.opt, cfg);
  });
}
