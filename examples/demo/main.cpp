// balrog demo: one blocking-style client function, run as fibers and as threads.
//
//   balrog_demo                                 runs both modes and compares them
//   balrog_demo fibers|threads CLIENTS PORT     one mode: prints "<seconds> <peak bytes> <n>"
//   balrog_demo serve                           the echo server: prints its port, serves
//                                               until stdin closes
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>

#include "echo_workload.hpp"
#include "process_stats.hpp"

namespace {

struct measured {
  double seconds = 0;
  double peak_mib = 0;
  std::size_t round_trips = 0;
};

measured parse(const std::string& line) {
  std::istringstream in(line);
  measured m;
  std::size_t peak = 0;
  in >> m.seconds >> peak >> m.round_trips;
  m.peak_mib = static_cast<double>(peak) / (1024.0 * 1024.0);
  return m;
}

int run_one(const std::string& mode, std::size_t clients, std::uint16_t port) {
  demo::raise_fd_limit();
  demo::workload w;
  w.clients = clients;
  w.server_port = port;
  const demo::outcome o = mode == "fibers" ? demo::run_on_fibers(w) : demo::run_on_threads(w);
  std::printf("%.6f %zu %zu\n", o.wall.count(), demo::peak_rss_bytes(), o.round_trips);
  return 0;
}

int compare(std::size_t clients) {
  const demo::workload w{.clients = clients};
  std::printf(
      "balrog demo: %zu concurrent clients; each sleeps %d times (~%lld ms each), then does one\n"
      "TCP round trip with an echo server on loopback (a separate process, a fiber per\n"
      "connection). The client is one ordinary function (balrog::net::connect, write_all,\n"
      "read_exact, balrog::this_fiber::sleep_for): on a fiber it suspends, on a plain thread it\n"
      "blocks. Each mode runs in a fresh process; peak RSS is the client process's.\n\n",
      clients, w.sleeps, static_cast<long long>(w.sleep_each.count()));
  std::fflush(stdout);
  demo::child server({"serve"});
  const std::string port = server.read_line();
  const std::string n = std::to_string(clients);
  const measured f = parse(demo::child({"fibers", n, port}).finish());
  const measured t = parse(demo::child({"threads", n, port}).finish());
  server.stop();
  std::printf("  %-34s %10s %12s %12s\n", "clients run as", "wall time", "peak RSS", "round trips");
  std::printf("  %-34s %9.2fs %8.1f MiB %12zu\n", "fibers, all on 1 thread", f.seconds, f.peak_mib,
              f.round_trips);
  std::printf("  %-34s %9.2fs %8.1f MiB %12zu\n", ("threads, " + n + " of them").c_str(), t.seconds,
              t.peak_mib, t.round_trips);
  std::printf("\n  fibers used %.2fx the wall time and %.2fx the memory of threads.\n",
              f.seconds / t.seconds, f.peak_mib / t.peak_mib);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode.empty()) return compare(10'000);
    if (mode == "serve") {
      demo::raise_fd_limit();
      demo::serve_echo();
      return 0;
    }
    if ((mode == "fibers" || mode == "threads") && argc == 4) {
      return run_one(mode, std::stoul(argv[2]), static_cast<std::uint16_t>(std::stoul(argv[3])));
    }
    std::fprintf(stderr, "usage: %s [fibers|threads CLIENTS PORT | serve]\n", argv[0]);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "balrog_demo: %s\n", e.what());
    return 1;
  }
}
