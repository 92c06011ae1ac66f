// Fiber mode, one shard's part of a server: its listener, its acceptor fiber, the connections
// it accepted (each served on this shard only), and its share of a graceful shutdown.
#pragma once

#include <cstddef>

#include "balrog/net/listener.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/sync/wait_group.hpp"
#include "serving/server_state.hpp"

namespace balrog::http::server::detail {

class live_connection;

class shard_server {
 public:
  shard_server(server_state& state, net::listener listener, std::size_t index);
  ~shard_server();

  // The shard's own fiber: starts the acceptor, waits for `stop`, then drains (grace from the
  // state), and sets `done`.
  void run();

  event stop;  // set by shutdown(), from any thread
  event done;  // set when this shard has closed its listener and every connection

  // live_connection's part.
  server_state& state() noexcept { return state_; }
  void forget(live_connection& c) noexcept;

 private:
  void accept_loop();
  void drain(std::chrono::milliseconds grace);

  server_state& state_;
  net::listener listener_;
  std::size_t index_;
  connection_list<live_connection> connections_;
  wait_group live_;
};

}  // namespace balrog::http::server::detail
