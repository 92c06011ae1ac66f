// bench_http_server_idle_client — opens N keep-alive connections to a server, sends one GET on
// each, reads the answer, then keeps them all open and idle; prints "ready <n>" and waits until its
// stdin closes. server_bench.py measures the server's memory and threads meanwhile.
//
//   bench_http_server_idle_client --port P --connections N [--path /plaintext]
//
// The client is itself a balrog program: a dense-stack fiber per connection on one thread.
//
// It opens the connections in batches of 256 and waits until a batch has its answers before it
// starts the next, so the server holds at most one batch of connections that are still waiting
// for their request. A batch must be waited for, not merely yielded to: since the loop polls
// for fd events once per dispatch batch (b42fa96), a yield after 256 spawns no longer let
// the connects complete, so the client connected all N sockets before it sent any request and
// the server held N fibers with their buffers at once; its heap kept that peak (about 3 KB per
// connection more RSS, all of it free heap that malloc_trim(0) returns).
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "balrog/balrog.hpp"
#include "balrog/net.hpp"

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  std::size_t connections = 10000;
  std::string path = "/plaintext";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--port") == 0) {
      port = static_cast<std::uint16_t>(std::strtoul(argv[i + 1], nullptr, 10));
    }
    if (std::strcmp(argv[i], "--connections") == 0) {
      connections = std::strtoul(argv[i + 1], nullptr, 10);
    }
    if (std::strcmp(argv[i], "--path") == 0) path = argv[i + 1];
  }
  return balrog::run([&] {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n";
    std::vector<balrog::net::stream> open(connections);
    std::size_t failed = 0;
    constexpr std::size_t batch = 256;
    for (std::size_t first = 0; first < connections; first += batch) {
      balrog::wait_group all;
      for (std::size_t i = first; i < std::min(first + batch, connections); ++i) {
        all.add();
        balrog::spawn(
            [&, i] {
              try {
                balrog::net::stream s = balrog::net::connect(balrog::net::endpoint::loopback(port),
                                                             std::chrono::seconds(30));
                s.write_all(request);
                std::array<std::byte, 1024> buf{};
                (void)s.read_some(buf, std::chrono::seconds(30));
                open[i] = std::move(s);
              } catch (const std::exception& e) {
                if (failed++ == 0) std::fprintf(stderr, "idle client: %s\n", e.what());
              }
              all.done();
            },
            {.stack = balrog::stack_kind::dense})
            .detach();
      }
      all.wait();  // the batch is answered: the server keeps up (see the top of this file)
    }
    std::printf("ready %zu\n", connections - failed);
    std::fflush(stdout);
    balrog::offload([] {
      char c;
      while (std::fread(&c, 1, 1, stdin) == 1) {
      }
    });
    return failed == 0 ? 0 : 1;
  });
}
