// bench/common/echo_load.hpp — the TCP echo pieces shared by the echo benchmarks
// (runtime/tcp_echo_bench.cpp, bridge/shard_echo_bench.cpp).
//
// Both measure a loopback echo server against the same load: the balrog load generator below,
// driven round by round in fresh processes by run_echo_round(). Sharing it keeps the two
// programs' numbers comparable: they differ only in the server (and, in tcp_echo, the peer's
// load generator), never in how the load is made or counted.
#pragma once

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
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

namespace balrog_bench {

// Bytes of one request, and of its echo.
inline constexpr std::size_t echo_message_bytes = 64;

// How a child process reports to the driver: one record a line on stdout, flushed at once
// because the driver waits for it while the child keeps running.
inline void print_record(const record& r) {
  std::printf("%s\n", format_record(r).c_str());
  std::fflush(stdout);
}

// Blocks until the driver closes our stdin (fd 0): that is how it stops a server. On a fiber it
// parks in the reactor, so the server's other fibers keep running.
inline void wait_for_stdin_eof(bool on_fiber) {
  char buf[64];
  for (;;) {
    if (on_fiber) balrog::wait_readable(0);
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n == 0) return;
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      throw std::system_error(errno, std::generic_category(), "read(stdin)");
    }
  }
}

// A balrog echo server's connection fiber: echoes until the client closes the connection.
inline void serve_echo(balrog::net::stream s) {
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

// The balrog load generator: one thread in balrog::run, one fiber per connection. It connects
// them all, then every one sends a message and reads its echo in a loop for `seconds`.
// Returns "requests" (completed within the window) and "seconds" (the window's length).
inline record run_balrog_echo_load(std::uint16_t port, std::size_t connections, double seconds) {
  record r;
  balrog::run([&] {
    balrog::wait_group connected;
    balrog::event go;
    bool stop = false;
    std::uint64_t total = 0;
    connected.add(static_cast<std::ptrdiff_t>(connections));
    std::vector<balrog::fiber<void>> clients;
    clients.reserve(connections);
    for (std::size_t i = 0; i < connections; ++i) {
      clients.push_back(balrog::spawn([&] {
        balrog::net::stream s = balrog::net::connect(balrog::net::endpoint::loopback(port));
        s.set_nodelay(true);
        connected.done();
        go.wait();  // start together, so setup stays out of the window
        std::array<std::byte, echo_message_bytes> msg{};
        std::array<std::byte, echo_message_bytes> echo{};
        std::uint64_t done = 0;
        while (!stop) {
          s.write_all(msg);
          s.read_exact(echo);
          if (!stop) ++done;  // a reply that arrives after the window does not count
        }
        total += done;
      }));
    }
    connected.wait();
    const std::int64_t t0 = now_ns();
    go.set();
    balrog::this_fiber::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    const std::int64_t t1 = now_ns();
    for (auto& c : clients) c.join();
    r["requests"] = static_cast<double>(total);
    r["seconds"] = static_cast<double>(t1 - t0) / 1e9;
  });
  return r;
}

// What every echo program is told on its command line; each has its own default window.
struct echo_settings {
  explicit echo_settings(double default_seconds) : seconds(default_seconds) {}
  std::size_t connections = 1000;
  double seconds;  // each round's measured window
};

// The command line: the harness options, then "--key value" pairs. Without --server or
// --client the program is the driver; run_echo_round() starts its children with them.
struct echo_args {
  options opt;
  std::string server;      // --server: which server this child is
  std::string client;      // --client: which load generator this child is
  std::uint16_t port = 0;  // --port: the server's, for the load generator
};

// Parses the command line into `cfg` and the result; `other(key, value)` takes the keys the
// program adds and returns false for one it does not know.
template <class Other>
echo_args parse_echo_args(int argc, char** argv, echo_settings& cfg, Other&& other) {
  echo_args a;
  a.opt = parse_options(argc, argv);
  for (std::size_t i = 0; i + 1 < a.opt.rest.size(); i += 2) {
    const std::string& key = a.opt.rest[i];
    const std::string& value = a.opt.rest[i + 1];
    if (key == "--connections") {
      cfg.connections = std::stoul(value);
    } else if (key == "--seconds") {
      cfg.seconds = std::stod(value);
    } else if (key == "--server") {
      a.server = value;
    } else if (key == "--client") {
      a.client = value;
    } else if (key == "--port") {
      a.port = static_cast<std::uint16_t>(std::stoul(value));
    } else if (!other(key, value)) {
      throw std::runtime_error("unknown argument " + key);
    }
  }
  return a;
}

inline echo_args parse_echo_args(int argc, char** argv, echo_settings& cfg) {
  return parse_echo_args(argc, argv, cfg,
                         [](const std::string&, const std::string&) { return false; });
}

// --- driver --------------------------------------------------------------------------------

struct echo_round {
  record server;            // the server's statistics line ("connections", "peak_rss", ...)
  record client;            // the load generator's record, plus "child_cpu_s"
  double server_cpu_s = 0;  // the server process's CPU time, from wait4
};

// One round in fresh processes. Starts the server (`server_args` + `common_args`), which prints
// its port; runs the load generator (`client_args` + "--port" P + `common_args`) to its end;
// then closes the server's stdin and reads its statistics. Throws unless the server accepted
// `connections` connections; `server_name` names it in that message.
inline echo_round run_echo_round(std::vector<std::string> server_args,
                                 std::vector<std::string> client_args,
                                 const std::vector<std::string>& common_args,
                                 std::size_t connections, const std::string& server_name) {
  server_args.insert(server_args.end(), common_args.begin(), common_args.end());
  child_process server(server_args);
  const record port = parse_record(server.expect_line("its port"));
  client_args.insert(client_args.end(), {"--port", json_number(port.at("port"))});
  client_args.insert(client_args.end(), common_args.begin(), common_args.end());
  echo_round out;
  out.client = run_child(client_args);
  server.close_stdin();
  out.server = parse_record(server.expect_line("its statistics"));
  server.wait_success();
  out.server_cpu_s = server.cpu_seconds();
  if (out.server.at("connections") != static_cast<double>(connections)) {
    throw std::runtime_error(server_name + " server accepted " +
                             json_number(out.server.at("connections")) + " connections, expected " +
                             std::to_string(connections));
  }
  return out;
}

// Each side's kept rounds (the warm-up round dropped), whole.
template <class Result>
struct echo_rounds {
  std::vector<Result> balrog;
  std::vector<Result> peer;
};

// alternate() for rounds that measure more than one number: each round returns a Result whose
// requests_per_s is the round's sample; all of it is kept for the other cases.
template <class BalrogRound, class PeerRound, class Result = std::invoke_result_t<BalrogRound&>>
echo_rounds<Result> alternate_echo_rounds(int rounds, BalrogRound&& balrog_round,
                                          PeerRound&& peer_round) {
  echo_rounds<Result> out;
  (void)alternate(
      rounds,
      [&] {
        out.balrog.push_back(balrog_round());
        return out.balrog.back().requests_per_s;
      },
      [&] {
        out.peer.push_back(peer_round());
        return out.peer.back().requests_per_s;
      });
  // alternate() ran one warm-up round of each side first: drop it here too.
  out.balrog.erase(out.balrog.begin());
  out.peer.erase(out.peer.begin());
  return out;
}

// One field of every round, e.g. column(rounds.balrog, &round_result::server_peak_mib).
template <class Result>
std::vector<double> column(const std::vector<Result>& rounds, double Result::*field) {
  std::vector<double> out;
  for (const auto& r : rounds) out.push_back(r.*field);
  return out;
}

// The start of every echo case's note: what one round does.
inline std::string echo_setup_note(std::size_t connections, double seconds) {
  return "127.0.0.1, " + std::to_string(connections) + " connections, " +
         std::to_string(echo_message_bytes) + "-byte request/response, " + json_number(seconds) +
         " s";
}

}  // namespace balrog_bench
