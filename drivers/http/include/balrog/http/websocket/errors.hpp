// balrog/http/websocket/errors.hpp — what WebSocket connections throw.
//
// Every WebSocket error is a balrog::http::error. Besides these: balrog::io_error when the TCP
// connection breaks (errno in code()), balrog::timeout_error when the peer is silent for
// options::idle_timeout or does not read for options::write_timeout (or an enclosing
// deadline_scope passes), balrog::cancelled when the fiber is cancelled. After any of them,
// and after protocol_error, the connection is closed: is_open() is false and further sends
// throw connection_closed.
#pragma once

#include <cstdint>
#include <string>

#include "balrog/http/error.hpp"

namespace balrog::http::websocket {

class error : public http::error {
 public:
  using http::error::error;
};

// The peer broke the protocol (a bad frame, text that is not UTF-8, a message over
// options::max_message_bytes). The connection was failed with the close code the RFC gives
// (1002, 1007, 1009), available in close_code().
class protocol_error : public error {
 public:
  protocol_error(std::uint16_t close_code, const std::string& what_arg)
      : error(what_arg), close_code_(close_code) {}
  [[nodiscard]] std::uint16_t close_code() const noexcept { return close_code_; }

 private:
  std::uint16_t close_code_;
};

// send(), ping() or receive() on a connection that is closed: closed by close(), by the peer's
// close frame, or failed by an earlier error.
class connection_closed : public error {
 public:
  using error::error;
};

// The client's opening handshake failed: the server answered the upgrade request with
// something other than 101 (status() has its status; 0 when the answer was not HTTP at all).
class handshake_error : public error {
 public:
  handshake_error(unsigned status, const std::string& what_arg)
      : error(what_arg), status_(status) {}
  [[nodiscard]] unsigned status() const noexcept { return status_; }

 private:
  unsigned status_;
};

}  // namespace balrog::http::websocket
