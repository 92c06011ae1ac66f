// balrog demo: one blocking-style client function, run as fibers and as threads.
//
//   balrog_demo                                 runs both modes and compares them
//   balrog_demo fibers|threads CLIENTS PORT     one mode: prints "<seconds> <peak bytes> <n>"
//   balrog_demo serve                           the echo server: prints its port, serves
//                                               until stdin closes
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "balrog/debug.hpp"
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

// The runtime's watchdog reports a stalled shard on stderr; in the demo that would land between
// the table's rows, so the children write their reports, one line each, to the log the parent
// names in BALROG_DEMO_LOG, and the parent says after the table how many there were.
constexpr const char* log_variable = "BALROG_DEMO_LOG";

void send_watchdog_reports_to_the_log() {
  const char* path = std::getenv(log_variable);
  if (path == nullptr || *path == '\0') return;
  balrog::set_watchdog(
      {.print = false, .hook = [log = std::string(path)](const balrog::watchdog_report& r) {
         if (FILE* f = std::fopen(log.c_str(), "a")) {
           std::fprintf(
               f, "balrog watchdog: pid %d, shard %zu stalled %lld ms in '%s' (#%llu)%s%s\n",
               static_cast<int>(::getpid()), r.shard, static_cast<long long>(r.stalled_for.count()),
               r.name.c_str(), static_cast<unsigned long long>(r.id.value()),
               r.backtrace.empty() ? "" : ", at ",
               r.backtrace.empty() ? "" : r.backtrace.front().c_str());
           std::fclose(f);
         }
       }});
}

std::size_t count_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

int run_one(const std::string& mode, std::size_t clients, std::uint16_t port) {
  send_watchdog_reports_to_the_log();
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
  const std::filesystem::path log =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "balrog_demo.log";
  std::ofstream{log, std::ios::trunc};  // this run's reports only
  ::setenv(log_variable, log.c_str(), 1);
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
  if (const std::size_t stalls = count_lines(log); stalls > 0) {
    std::printf("  the runtime's watchdog reported %zu stall%s over 100 ms: %s\n", stalls,
                stalls == 1 ? "" : "s", log.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode.empty()) return compare(10'000);
    if (mode == "serve") {
      send_watchdog_reports_to_the_log();
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
