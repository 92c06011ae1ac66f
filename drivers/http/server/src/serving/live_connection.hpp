// Fiber mode, one accepted connection: its socket (plain or TLS), its HTTP connection loop, and the
// fiber that runs the loop — or, while the connection is idle, the small coroutine that waits for
// its next request without a fiber (parking).
//
//   accept ─▶ serving (fiber) ──idle for idle_fiber_linger──▶ parked (coroutine on the reactor)
//                 ▲                                                 │ bytes arrive
//                 └──────────────────── new fiber ◀─────────────────┘
//   serving ──101──▶ websocket (the same fiber runs the route's handler)
//   HTTPS: the fiber runs the handshake first, and an idle connection keeps its fiber
//   any ──▶ finished: unlinked from the shard, slot released, deleted
#pragma once

#include <memory>

#include "balrog/fiber.hpp"
#include "balrog/net/stream.hpp"
#include "balrog/task.hpp"
#include "connection/connection.hpp"
#include "serving/connection_stream.hpp"
#include "serving/shard_server.hpp"

namespace balrog::http::server::detail {

class live_connection final : public connection_host, public connection_hook {
 public:
  live_connection(shard_server& shard, net::stream s, net::endpoint peer);
  live_connection(const live_connection&) = delete;
  live_connection& operator=(const live_connection&) = delete;

  // Spawns the fiber that serves it; resumed: it was parked and bytes arrived.
  void start(bool resumed);
  // A new connection's start: when no fiber can be had (no stack), it is closed instead.
  void start_or_finish() noexcept;

  bool stopping() const noexcept override;
  std::shared_ptr<websocket::detail::core> take_for_websocket(
      std::string leftover, const websocket::options& options) override;

  // Shutdown: an idle connection (parked, or waiting for its next request) is ended now; a
  // WebSocket is asked to close (1001); a request in flight is left to finish.
  void end_if_idle() noexcept;
  // After the grace period: cancels the fiber and breaks the socket.
  void force_close() noexcept;

 private:
  enum class phase { serving, parked, websocket };
  ~live_connection() override = default;

  void run(bool resumed) noexcept;
  void park();
  static task<void> wait_parked(live_connection* self);
  // Unlinks it, closes the socket, gives the slot back and deletes it.
  void finish() noexcept;
  [[nodiscard]] int fd() const noexcept;

  shard_server& shard_;
  connection_stream conn_;
  connection http_;
  fiber<void> worker_;
  phase phase_ = phase::serving;
  std::shared_ptr<websocket::detail::core> websocket_;
};

}  // namespace balrog::http::server::detail
