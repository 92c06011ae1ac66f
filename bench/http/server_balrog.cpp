// bench_http_server_balrog — the balrog side of area `http`'s server cases (server_bench.py).
//
//   bench_http_server_balrog [--shards N] [--port P]
//
// Serves GET /plaintext ("Hello, World!", text/plain, keep-alive: TechEmpower's plaintext
// test without pipelining) with the default options, prints "ready <port>" and serves until
// SIGTERM or SIGINT, then shuts down gracefully.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "balrog/http/server.hpp"
#include "balrog/runtime.hpp"

namespace hs = balrog::http::server;

int main(int argc, char** argv) {
  std::size_t shards = 1;
  std::uint16_t port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--shards") == 0) shards = std::strtoul(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--port") == 0) {
      port = static_cast<std::uint16_t>(std::strtoul(argv[i + 1], nullptr, 10));
    }
  }
  balrog::runtime rt({.threads = shards});
  rt.run([port] {
    hs::router r;
    r.get("/plaintext", [](hs::request&) { return hs::response::text("Hello, World!"); });
    hs::server srv(std::move(r));
    srv.listen(balrog::net::endpoint::loopback(port));
    srv.shutdown_on_signals();
    std::printf("ready %u\n", srv.local_endpoint().port());
    std::fflush(stdout);
    srv.wait();
  });
  return 0;
}
