// balrog/http/server/server.hpp — an HTTP/1.1 server: a fiber per connection, on every shard.
//
//   namespace hs = balrog::http::server;
//   int main() {
//     balrog::runtime rt({.threads = 4});
//     rt.run([] {
//       hs::router r;
//       r.get("/hello/{name}", [](hs::request& req) {
//         return hs::response::text("hello " + std::string(req.param("name")) + "\n");
//       });
//       hs::server srv(std::move(r));
//       srv.listen(balrog::net::endpoint::parse("0.0.0.0:8080"));
//       srv.shutdown_on_signals();      // SIGTERM / SIGINT: stop accepting, drain, close
//       srv.wait();
//     });
//   }
//
// Fiber mode (listen() called on a fiber inside balrog::run or balrog::runtime::run): every
// shard gets its own listening socket on the address (SO_REUSEPORT when there are several; the
// kernel spreads connections) and an acceptor fiber; each connection is served by a fiber of
// the shard that accepted it and never leaves it. A connection idle for
// options::idle_fiber_linger gives its fiber back and waits as a small coroutine on the reactor
// (a few kilobytes), so thousands of idle keep-alive connections cost no stacks.
//
// Sync mode (listen() called on a plain thread, no runtime): the same router and handlers,
// served by an acceptor thread and a thread per connection, blocking in poll(2). No fibers, so
// handlers that use balrog's blocking-style API simply block their thread.
//
// Each connection: requests are read with Beast's parser within options' limits and
// deadlines, answered in order (pipelined requests too), kept alive as HTTP/1.1 says; see
// options.hpp for what is answered when a client breaks a limit. At options::max_connections
// open connections the server stops accepting until one closes (back-pressure: new clients
// wait in the kernel's accept queue).
//
// Shutdown (shutdown(), the destructor, or a signal after shutdown_on_signals()): the
// listeners close at once; connections between requests close at once; requests in flight run
// to completion and are answered with "Connection: close"; WebSockets get a close frame 1001
// (going away). What is still running after the grace period is cancelled (fiber mode; its
// connection is dropped). shutdown() returns when every connection is gone. In sync mode a
// handler cannot be cancelled: shutdown() waits for it.
//
// Threads: listen(), shutdown() and the destructor may be called from any fiber or thread of
// the runtime that listen() ran in (in sync mode, any thread); shutdown() and wait() also from
// plain threads. Destroy the server inside the runtime it served in.
#pragma once

#include <chrono>
#include <csignal>
#include <cstddef>
#include <initializer_list>
#include <memory>

#include "balrog/http/server/options.hpp"
#include "balrog/http/server/router.hpp"
#include "balrog/net/endpoint.hpp"

namespace balrog::http::server {

namespace detail {
class server_state;
}

class server {
 public:
  // Takes the router (read-only from now on). Throws usage_error for an option that makes no
  // sense (a zero limit or timeout where zero is not allowed).
  explicit server(router routes, options opts = {});
  // shutdown(0ms) if still serving: requests in flight are cancelled.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Opens the listener(s) and starts serving (see above); returns at once. Throws io_error
  // (EADDRINUSE, EACCES...), usage_error when called twice.
  void listen(const net::endpoint& where);
  // The address served (port 0 resolved to the one the kernel chose). usage_error before
  // listen().
  [[nodiscard]] net::endpoint local_endpoint() const;

  // Stops gracefully (see above) and waits until every connection is gone. Idempotent:
  // later calls wait for the first to finish. Does nothing before listen().
  void shutdown(std::chrono::milliseconds grace);
  void shutdown();  // with options::shutdown_grace
  // Waits until the server has shut down (by shutdown() elsewhere, or a signal).
  void wait();

  // When one of `signals` arrives, starts shutdown() with options::shutdown_grace, and gives
  // the signal back its previous disposition, so that a second one has its usual effect (a
  // second Ctrl-C ends the process). Call it after listen(). Throws io_error when the signal
  // handlers cannot be installed.
  void shutdown_on_signals(std::initializer_list<int> signals = {SIGTERM, SIGINT});

  // Connections open now (all shards; a snapshot).
  [[nodiscard]] std::size_t open_connections() const noexcept;
  // Connections accepted since listen().
  [[nodiscard]] std::size_t accepted_connections() const noexcept;

 private:
  std::unique_ptr<detail::server_state> state_;
};

}  // namespace balrog::http::server
