#include "echo_workload.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "balrog/balrog.hpp"
#include "balrog/net.hpp"

namespace demo {

namespace {

constexpr std::string_view ping = "ping";

// The client: ordinary blocking-style code.
void client(std::size_t i, const workload& w) {
  const auto nap = w.sleep_each * (50 + static_cast<long>(i % 101)) / 100;
  for (int s = 0; s < w.sleeps; ++s) balrog::this_fiber::sleep_for(nap);
  auto conn = balrog::net::connect(balrog::net::endpoint::loopback(w.server_port),
                                   std::chrono::seconds(30));
  conn.write_all(ping);
  const std::string reply = conn.read_exact(ping.size(), std::chrono::seconds(30));
  if (reply != ping) throw std::runtime_error("demo: the echo server answered '" + reply + "'");
}

// The server side of one connection: echo until the client closes.
void echo(balrog::net::stream conn) {
  std::array<std::byte, 256> buf{};
  while (const std::size_t n = conn.read_some(buf)) conn.write_all(std::span(buf).first(n));
}

}  // namespace

outcome run_on_fibers(const workload& w) {
  return balrog::run([&w] {
    const auto start = std::chrono::steady_clock::now();
    std::vector<balrog::fiber<void>> clients;
    clients.reserve(w.clients);
    for (std::size_t i = 0; i < w.clients; ++i) {
      clients.push_back(balrog::spawn([i, &w] { client(i, w); }));
    }
    for (auto& c : clients) c.join();
    return outcome{std::chrono::steady_clock::now() - start, w.clients};
  });
}

outcome run_on_threads(const workload& w) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  clients.reserve(w.clients);
  for (std::size_t i = 0; i < w.clients; ++i) clients.emplace_back([i, &w] { client(i, w); });
  for (auto& c : clients) c.join();
  return outcome{std::chrono::steady_clock::now() - start, w.clients};
}

void serve_echo() {
  balrog::run([] {
    auto listener = balrog::net::listen(balrog::net::endpoint::loopback(0), {.backlog = 4096});
    std::printf("%u\n", listener.local_endpoint().port());
    std::fflush(stdout);
    auto acceptor = balrog::spawn([&] {
      for (;;) {
        // Dense stacks: the handlers are shallow, and there are many of them.
        balrog::spawn(
            [c = listener.accept()]() mutable {
              try {
                echo(std::move(c));
              } catch (const balrog::io_error&) {
                // a client that vanished mid-conversation is its problem, not the server's
              }
            },
            {.name = "echo", .stack = balrog::stack_kind::dense})
            .detach();
      }
    });
    balrog::wait_readable(STDIN_FILENO);  // the parent closes our stdin to stop us
    listener.close();                     // wakes the acceptor: accept() throws
    try {
      acceptor.join();
    } catch (const balrog::io_error&) {
    }
  });
}

}  // namespace demo
