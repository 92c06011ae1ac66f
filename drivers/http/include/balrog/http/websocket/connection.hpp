// balrog/http/websocket/connection.hpp — one WebSocket connection, server or client side.
//
//   // server: a route of balrog/http/server/router.hpp
//   r.websocket("/echo", [](hs::request&, websocket::connection& ws) {
//     while (auto msg = ws.receive()) {          // nullopt: the peer closed
//       if (msg->is_text()) ws.send(msg->data); else ws.send_binary(msg->data);
//     }
//   });
//   // client: balrog/http/websocket/client.hpp
//   auto ws = websocket::connect("ws://127.0.0.1:8080/echo");
//   ws.send("hello");
//   auto reply = ws.receive();
//   ws.close();
//
// Beast's WebSocket implementation (framing, masking, fragmentation, UTF-8 validation,
// permessage-deflate, the opening and closing handshakes) runs over a balrog stream, so every
// call here is blocking-style: on a fiber it suspends the fiber, in sync mode it blocks the
// thread.
//
// Receiving. receive() returns the next whole message (fragments reassembled), answering pings
// on the way. It returns nullopt once the connection is closed by a close handshake — the
// peer's (peer_close() says why; the handshake is answered before receive() returns) or one
// asked for by close() from another fiber. One fiber receives at a time; a second concurrent
// receive() waits for the first. While receive() waits, it pings the peer after
// options::ping_interval of silence and gives up after options::idle_timeout (timeout_error,
// the connection is then dropped). A deadline — receive(2s) or an enclosing deadline_scope —
// only abandons the wait: timeout_error, and the connection stays open; the next receive()
// continues where this one stopped, even inside a message.
//
// Sending. send() (text), send_binary() and ping() may be called from any fiber of any shard,
// and from plain threads, concurrently with a receive(): each message is written whole, in
// the order the senders got to it (a FIFO lock). A sender on the connection's own thread
// writes itself; any other sender hands the message to a fiber on the connection's shard and
// waits for it. Either way send() returns once the message is in the kernel's send buffer, and
// waits while that buffer is full (back-pressure, at most options::write_timeout without
// progress, after which the connection is dropped and send() throws timeout_error).
//
// Closing. close(code, reason) runs the close handshake: sends a close frame, reads (and
// drops) what the peer still sends until its close frame, at most options::close_timeout,
// then closes the TCP connection. Called while another fiber is in receive(), it asks that
// fiber to do it (its receive() then returns nullopt) and waits for it. Destroying a
// connection that is still open drops the TCP connection without a handshake. The server
// closes a route's connection (1000) when the route's handler returns, and with 1001 (going
// away) when it shuts down.
//
// Errors (balrog/http/websocket/errors.hpp): protocol_error, connection_closed, io_error,
// timeout_error, cancelled. Any error except a receive() deadline closes the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "balrog/deadline.hpp"
#include "balrog/http/websocket/errors.hpp"
#include "balrog/http/websocket/options.hpp"
#include "balrog/net/endpoint.hpp"

namespace balrog::http::websocket {

// Close codes of RFC 6455 §7.4.1 that applications send.
namespace close_codes {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t bad_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t try_again_later = 1013;
}  // namespace close_codes

struct message {
  bool binary = false;
  std::string data;
  [[nodiscard]] bool is_text() const noexcept { return !binary; }
};

// Why the peer closed: the code and reason of its close frame (code 1005, "no status", when the
// frame carried none).
struct close_reason {
  std::uint16_t code = 0;
  std::string reason;
};

namespace detail {
class core;
}

class connection {
 public:
  // A closed connection (a placeholder to move into).
  connection() noexcept;
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;  // drops what it held first
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();  // drops the TCP connection if still open (no close handshake)

  // The next message, or nullopt once closed by a close handshake (see above). `until` (with
  // an enclosing deadline_scope) bounds this wait only. Throws protocol_error, io_error,
  // timeout_error, cancelled; connection_closed when the connection was already closed by an
  // error (a clean close keeps returning nullopt).
  std::optional<message> receive(deadline until = deadline::never());

  // Sends a text message (the bytes should be UTF-8: the peer fails the connection otherwise).
  void send(std::string_view text);
  // Sends a binary message.
  void send_binary(std::span<const std::byte> data);
  void send_binary(std::string_view data);
  // Sends a ping (payload at most 125 bytes, else usage_error); the pong arrives through
  // receive(), which consumes it.
  void ping(std::string_view payload = {});

  // Runs the close handshake (see above). Idempotent; never throws for a connection that is
  // already closed. `reason` is cut to 123 bytes.
  void close(std::uint16_t code = close_codes::normal, std::string_view reason = {});

  [[nodiscard]] bool is_open() const noexcept;
  // The peer's close frame, once one arrived.
  [[nodiscard]] std::optional<close_reason> peer_close() const;
  [[nodiscard]] net::endpoint remote_endpoint() const;
  // The negotiated subprotocol (Sec-WebSocket-Protocol), empty when none.
  [[nodiscard]] std::string subprotocol() const;
  // Whether permessage-deflate was negotiated.
  [[nodiscard]] bool compressed() const noexcept;

  // The shared state (the hub keeps it; the server and connect() build connections from it).
  explicit connection(std::shared_ptr<detail::core> core) noexcept;
  [[nodiscard]] const std::shared_ptr<detail::core>& core() const noexcept { return core_; }

 private:
  std::shared_ptr<detail::core> core_;
};

}  // namespace balrog::http::websocket
