// The demo's workload: many clients, each sleeping a few times and doing one TCP round trip
// with a loopback echo server. The client function is plain blocking-style code; it runs
// unchanged on a fiber (it suspends) and on a plain thread (it blocks).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace demo {

struct workload {
  std::size_t clients = 10'000;
  std::uint16_t server_port = 0;
  int sleeps = 3;
  // Client i sleeps sleep_each scaled by 0.5 .. 1.5 (spread by i), so connects do not all
  // land in the same microsecond, as they would not in real life.
  std::chrono::milliseconds sleep_each{50};
};

struct outcome {
  std::chrono::duration<double> wall{};
  std::size_t round_trips = 0;
};

// Every client on a fiber, all on this thread.
outcome run_on_fibers(const workload& w);
// Every client on its own thread.
outcome run_on_threads(const workload& w);

// The echo server the clients talk to (a separate process in the demo): a fiber per
// connection. Prints its port on stdout, then serves until stdin reaches end of file.
void serve_echo();

}  // namespace demo
