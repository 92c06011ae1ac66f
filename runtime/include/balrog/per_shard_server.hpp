// balrog/per_shard_server.hpp — a TCP server with one listener and one acceptor per shard.
//
//   balrog::runtime rt({.threads = 2});
//   rt.run([] {
//     balrog::per_shard_server server(balrog::net::endpoint::loopback(8080),
//                                     [](balrog::net::stream conn) { serve(std::move(conn)); });
//     ...
//   });
//
// Every shard of the current runtime gets its own listening socket on the same address
// (SO_REUSEPORT: the kernel spreads new connections across them) and an acceptor fiber. Each
// accepted connection is handled by a new fiber on the shard that accepted it, so it never
// crosses threads. Port 0 picks a free port for the first listener; the others share it.
//
// The handler runs on a detached fiber per connection; an exception escaping it is reported on
// stderr with the peer's address and the connection is dropped (the server keeps serving).
// stop() (or the destructor) closes the listeners and waits for the acceptors; connections
// already accepted are left to finish on their own.
//
// Construct and destroy it on a fiber inside balrog::run or balrog::runtime::run; anything else
// throws usage_error.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "balrog/fiber.hpp"
#include "balrog/net/endpoint.hpp"
#include "balrog/net/listener.hpp"

namespace balrog {

class per_shard_server {
 public:
  using handler = std::function<void(net::stream)>;

  // reuse_port is forced on; other options apply to every listener. Throws io_error when a
  // listener cannot be opened (EADDRINUSE...), closing the ones already open.
  per_shard_server(const net::endpoint& where, handler on_connection,
                   net::listen_options options = {});
  ~per_shard_server();
  per_shard_server(const per_shard_server&) = delete;
  per_shard_server& operator=(const per_shard_server&) = delete;

  // The address every shard listens on (with the port port 0 resolved to).
  [[nodiscard]] net::endpoint local_endpoint() const { return where_; }
  [[nodiscard]] std::size_t shards() const noexcept { return shards_.size(); }
  // Connections each shard has accepted so far (a snapshot).
  [[nodiscard]] std::vector<std::size_t> accepted_per_shard() const;

  // Closes every listener from its own shard and joins the acceptors. Idempotent.
  void stop();

 private:
  struct shard;
  net::endpoint where_;
  std::vector<std::shared_ptr<shard>> shards_;
  std::vector<fiber<void>> acceptors_;
};

}  // namespace balrog
