// One WebSocket connection's state, shared by its connection handle, hubs and the server.
//
// Beast's synchronous WebSocket stream runs over a stream_adapter (stream_adapter.hpp). The
// rules that keep Beast's state sound:
//  - One receiver at a time (read_lock_). Beast's read may write on its own (a pong, the
//    answer to a close frame).
//  - Writes hold write_lock_ for a whole Beast call (send, ping, close), and Beast's own
//    writes inside a read take it for each frame: frames are never interleaved. The lock is
//    FIFO, so senders go in the order they came.
//  - Owned by a fiber (the usual case): Beast's code only ever runs on the owner shard's
//    thread, switching between fibers only inside the adapter's waits, exactly where Beast's
//    asynchronous operations would interleave. A sender from elsewhere goes through the
//    owner shard's mailbox. Before the adapter reports a read error to Beast (which then
//    frees its write buffers), it waits for a write in progress to finish.
//  - Owned by a plain thread (sync mode): other threads may send directly, so the receiver
//    holds write_lock_ whenever Beast's code runs and lets go of it only while it waits for
//    bytes ("big lock" mode): Beast's state is never touched by two threads at once.
//  - Waits inside a read can be ended early — by the receive() deadline, by close() asked from
//    another fiber, by cancellation — with an exception thrown through Beast's read. The
//    adapter throws only where Beast asked for bytes and has not consumed any, so Beast's
//    state stays consistent and the next receive() (or the close handshake) continues it.
#pragma once

#include <atomic>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "balrog/deadline.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/fiber.hpp"
#include "balrog/http/server/request.hpp"
#include "balrog/http/server/response.hpp"
#include "balrog/http/websocket/connection.hpp"
#include "balrog/net/stream.hpp"
#include "balrog/net/tls_stream.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/sync/mutex.hpp"
#include "websocket/shard_mailbox.hpp"
#include "websocket/stream_adapter.hpp"
#include "websocket/write_lock.hpp"

namespace balrog::http::websocket::detail {

class core : public std::enable_shared_from_this<core> {
 public:
  using beast_stream = boost::beast::websocket::stream<stream_adapter, true>;

  // A server-side connection over an accepted socket; `leftover`: bytes the client sent after
  // its upgrade request. The handshake is accept()'s.
  static std::shared_ptr<core> make_server(net::stream s, std::string leftover, const options& o);
  // The same over TLS (an HTTPS server's connection, its TLS handshake done).
  static std::shared_ptr<core> make_server(net::tls_stream s, std::string leftover,
                                           const options& o);
  // A client-side connection over a connected socket (ws://) or TLS stream (wss://, its TLS
  // handshake done); the WebSocket handshake is handshake()'s.
  static std::shared_ptr<core> make_client(net::stream s, const options& o);
  static std::shared_ptr<core> make_client(net::tls_stream s, const options& o);

  // Exactly one of `s` and `tls` is open.
  core(net::stream s, net::tls_stream tls, std::string leftover, const options& o,
       bool server_role);
  ~core();
  core(const core&) = delete;
  core& operator=(const core&) = delete;

  // Server: answers the upgrade request `req` with 101, adding the fields of `extra` (set by
  // middleware). False when Beast refused the request (it answered with an error status).
  bool accept(const server::request::message_type& req,
              const server::response::message_type& extra);
  // Client: sends the upgrade request and reads the answer, until `until`. Throws
  // handshake_error, io_error, timeout_error.
  void handshake(const std::string& host, const std::string& target,
                 const boost::beast::http::fields& extra, deadline until);

  std::optional<message> receive(deadline until);
  void send(bool binary, std::string_view data);
  void ping(std::string_view payload);
  void close(std::uint16_t code, std::string_view reason);
  // Asks the receiver (if any, now or at its next receive()) to run the close handshake.
  // Never waits; never throws.
  void request_close(std::uint16_t code, std::string_view reason) noexcept;
  // Ends the TCP connection at once, no handshake. Waiters wake with errors. Never throws.
  void drop() noexcept;

  [[nodiscard]] bool is_open() const noexcept;
  [[nodiscard]] std::optional<close_reason> peer_close() const;
  [[nodiscard]] net::endpoint remote_endpoint() const { return remote_; }
  [[nodiscard]] std::string subprotocol() const { return subprotocol_; }
  [[nodiscard]] bool compressed() const noexcept { return compressed_; }
  [[nodiscard]] int native_handle() const noexcept { return fd_; }

  // --- the stream_adapter's part ------------------------------------------------------------
  std::size_t read_into(std::span<char> into, boost::system::error_code& ec);
  void write_from(std::span<const char> from, boost::system::error_code& ec);
  void teardown() noexcept;

 private:
  enum class state : int { handshake, open, closing, closed, failed };

  [[nodiscard]] bool must_delegate() const noexcept;
  void configure();
  void wait_for_input();
  void ping_now();
  void ensure_wake_fd();
  // Holding read_lock_: the close handshake, bounded by options::close_timeout.
  void close_handshake(std::uint16_t code, std::string_view reason) noexcept;
  [[nodiscard]] std::string requested_reason();
  // Records a failure and ends the connection; returns the exception to throw.
  [[noreturn]] void fail(const boost::system::error_code& ec, const char* during);
  void set_state(state s) noexcept;
  // Waits until no write is in progress (before Beast learns of a read error).
  void settle_writes();

  options options_;
  bool server_role_;
  net::stream stream_;
  net::tls_stream tls_;  // wss: open instead of stream_
  bool tls_on_;
  int fd_;  // the socket, kept for shutdown(2) after stream_ is closed
  net::endpoint remote_;
  std::string leftover_;
  std::size_t leftover_used_ = 0;
  std::optional<beast_stream> ws_;
  bool compressed_ = false;
  std::string subprotocol_;  // negotiated in the handshake

  std::atomic<state> state_{state::handshake};
  event finished_;  // set when the connection is closed or failed

  // Who owns it (see above).
  std::thread::id owner_thread_;
  bool owned_by_fiber_ = false;
  bool big_lock_ = false;
  std::shared_ptr<shard_mailbox> mailbox_;

  mutex read_lock_;
  write_lock writes_;
  write_section* receiver_section_ = nullptr;  // big-lock mode: the receiver's hold

  // The receiver's wait (wait_for_input) and what may end it.
  int wake_fd_ = -1;  // eventfd: request_close() rings it
  std::atomic<bool> close_requested_{false};
  std::atomic<std::uint16_t> requested_code_{1000};
  balrog::detail::spinlock requested_reason_lock_;
  std::string requested_reason_;
  bool closing_handshake_ = false;  // inside close_handshake(): requests are not interrupts
  deadline receive_until_;
  clock::time_point last_heard_;
  clock::time_point last_ping_{};
  std::exception_ptr io_failure_;  // what the adapter could not tell Beast in an error_code

  boost::beast::flat_buffer partial_;  // the message receive() is assembling
};

}  // namespace balrog::http::websocket::detail
