// balrog/http/websocket/hub.hpp — find connected WebSocket clients by key, and send to them
// from anywhere in the process.
//
//   balrog::http::websocket::hub customers;              // shared by the routes below
//
//   r.websocket("/ws/orders/{customer}", [&](hs::request& req, websocket::connection& ws) {
//     auto reg = customers.add(std::string(req.param("customer")), ws);
//     while (ws.receive()) {}                            // until the client goes
//   });
//   r.post("/orders/{customer}", [&](hs::request& req) {
//     save_order(req);
//     customers.send(req.param("customer"), "Order #7 will be delivered in 20 minutes.");
//     return hs::response(hs::status::created);
//   });
//
// A key is any string (a user id, a session id); several connections may share one (a user
// with two tabs): send() reaches each of them. A registration ends when the object add()
// returned is destroyed (typically when the route's handler returns) or the connection closes.
//
// send() may be called from any fiber of any shard, or any thread: it hands the message to
// each connection (connection::send: written whole, in order per connection, on the
// connection's own shard) and returns once every one of them has it in its kernel send buffer.
// A client that does not read holds the sender back (back-pressure) for at most that
// connection's write_timeout, after which the connection is dropped and skipped. Connections
// that fail or are closed are skipped and forgotten; send() returns how many got the message,
// 0 when nobody is registered under the key. Cancellation and an enclosing deadline_scope end
// the wait (balrog::cancelled, timeout_error) without taking back what was already handed over.
//
// The hub must outlive its registrations' use of it: destroy it after the routes stop (the
// server's shutdown) — registrations left over afterwards are harmless.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "balrog/http/websocket/connection.hpp"

namespace balrog::http::websocket {

namespace detail {
struct hub_state;
}

class hub {
 public:
  hub();
  ~hub();
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  // A connection's membership; move-only. reset() or destruction ends it.
  class registration {
   public:
    registration() noexcept = default;
    registration(registration&& other) noexcept;
    registration& operator=(registration&& other) noexcept;
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
    ~registration() { reset(); }
    void reset() noexcept;

   private:
    friend class hub;
    registration(std::shared_ptr<detail::hub_state> hub, std::string key, std::uint64_t id)
        : hub_(std::move(hub)), key_(std::move(key)), id_(id) {}
    std::shared_ptr<detail::hub_state> hub_;
    std::string key_;
    std::uint64_t id_ = 0;
  };

  // Registers `ws` (open) under `key`. Throws connection_closed for a closed connection.
  [[nodiscard]] registration add(std::string key, const connection& ws);

  // Sends a text (binary) message to every connection registered under `key`; returns how
  // many got it (see above).
  std::size_t send(std::string_view key, std::string_view text);
  std::size_t send_binary(std::string_view key, std::span<const std::byte> data);
  // Sends to every registered connection.
  std::size_t broadcast(std::string_view text);
  // Runs the close handshake with every connection under `key` (connection::close); returns
  // how many there were.
  std::size_t close(std::string_view key, std::uint16_t code = close_codes::normal,
                    std::string_view reason = {});

  // Open connections registered under `key` / in all (snapshots).
  [[nodiscard]] std::size_t count(std::string_view key) const;
  [[nodiscard]] std::size_t size() const;

 private:
  std::shared_ptr<detail::hub_state> state_;
};

}  // namespace balrog::http::websocket
