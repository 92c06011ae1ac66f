// One HTTP/1.1 connection: reads requests, asks the router, writes the answers, in order, for
// as long as the connection is kept alive. Written blocking-style against a transport, so the
// same loop runs on a fiber (the server's shards), on a plain thread (sync mode) and over an
// in-memory stream (the fuzzer).
//
// A connection keeps its fiber while requests keep coming. Once it has been idle for
// options::idle_fiber_linger, serve() returns pause::idle: the owner parks it without a
// fiber (connection/parking) and calls serve() again, on a new fiber, when bytes arrive.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "balrog/http/server/options.hpp"
#include "balrog/http/server/router.hpp"
#include "balrog/net/endpoint.hpp"
#include "protocol/input_buffer.hpp"
#include "protocol/request_reader.hpp"
#include "protocol/response_writer.hpp"
#include "protocol/transport.hpp"

namespace balrog::http::websocket::detail {
class core;
}

namespace balrog::http::server::detail {

// What the owner of a connection offers it.
class connection_host {
 public:
  virtual ~connection_host() = default;
  // True once the server shuts down: the connection answers the request it is reading (with
  // Connection: close) and ends.
  [[nodiscard]] virtual bool stopping() const noexcept = 0;
  // Gives the socket to a WebSocket after a successful upgrade request; the HTTP connection
  // ends with it. `leftover` holds bytes the client sent after the request. nullptr when
  // this connection cannot become a WebSocket (an in-memory transport).
  virtual std::shared_ptr<websocket::detail::core> take_for_websocket(
      std::string leftover, const websocket::options& options) = 0;
};

class connection {
 public:
  enum class pause {
    closed,  // done: close the socket
    idle,    // kept alive and idle: park it, call serve(resumed = true) when bytes arrive
  };

  connection(transport& t, const router& r, const options& o, connection_host& host,
             net::endpoint peer);

  // Serves requests. may_park: return pause::idle after options::idle_fiber_linger without a
  // request (else wait up to idle_timeout). resumed: bytes are known to be waiting (the parked
  // connection woke up). Never throws but balrog::cancelled (the fiber is cancelled).
  pause serve(bool may_park, bool resumed = false);

  // While parked: frees the read buffer.
  void release_idle_memory() noexcept { in_.release_if_empty(); }
  // When the parked connection must wake by: the end of its idle time.
  [[nodiscard]] clock::time_point idle_until() const noexcept { return idle_until_; }
  // True while serve() waits for the first byte of a request (no request in flight): a
  // shutdown may end the connection then. Read by the server's shutdown from another thread
  // in sync mode, hence atomic.
  [[nodiscard]] bool between_requests() const noexcept {
    return between_requests_.load(std::memory_order_acquire);
  }

 private:
  enum class wait_result { request, closed, idle };
  wait_result wait_for_request(bool may_park, bool resumed);
  // One request and its answer; false when the connection must close.
  bool serve_one();
  response call_handler(request& req, route_match& match);
  bool upgrade(request& req, route_match& match, response& placeholder);
  // Answers a failed read (limits, malformed, timeout) and closes politely.
  void refuse(status code, const std::string& reason, unsigned version);
  // Ends the connection: flushes, half-closes, and reads for a moment what the client was
  // still sending, so that it reads our last answer rather than a reset.
  void close_politely() noexcept;

  transport& transport_;
  const router& router_;
  const options& options_;
  connection_host& host_;
  net::endpoint peer_;
  input_buffer in_;
  request_reader reader_;
  response_writer writer_;
  bool first_request_ = true;
  clock::time_point accepted_at_;
  clock::time_point idle_until_;
  std::atomic<bool> between_requests_{false};
};

}  // namespace balrog::http::server::detail
