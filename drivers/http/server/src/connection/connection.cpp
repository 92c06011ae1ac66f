#include "connection/connection.hpp"

#include <cstdio>
#include <exception>
#include <utility>

#include "balrog/errors.hpp"
#include "balrog/http/websocket/connection.hpp"
#include "balrog/this_fiber.hpp"
#include "protocol/target.hpp"
#include "websocket/core.hpp"

namespace balrog::http::server::detail {

namespace {

// close_politely(): how long, and how much, to read after our last answer.
constexpr auto drain_time = std::chrono::seconds(1);
constexpr std::size_t drain_bytes = 256 * 1024;

void report_handler_error(const options& o, const request& req, std::exception_ptr e) {
  if (o.on_handler_error) {
    try {
      o.on_handler_error(req, e);
    } catch (...) {
      // the hook's own failure must not take the connection down
    }
    return;
  }
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    what = x.what();
  } catch (...) {
  }
  std::fprintf(stderr, "balrog::http::server: %.*s %.*s failed: %s\n",
               static_cast<int>(req.method_string().size()), req.method_string().data(),
               static_cast<int>(req.target().size()), req.target().data(), what.c_str());
}

}  // namespace

connection::connection(transport& t, const router& r, const options& o, connection_host& host,
                       net::endpoint peer)
    : transport_(t),
      router_(r),
      options_(o),
      host_(host),
      peer_(std::move(peer)),
      in_(o.read_buffer_bytes),
      reader_(t, in_, o),
      writer_(t, o),
      accepted_at_(clock::now()),
      idle_until_(accepted_at_ + o.header_timeout) {}

connection::pause connection::serve(bool may_park, bool resumed) {
  try {
    for (;;) {
      if (host_.stopping() && in_.empty()) break;
      if (in_.empty()) {
        const wait_result w = wait_for_request(may_park, resumed);
        resumed = false;
        if (w == wait_result::idle) {
          release_idle_memory();
          return pause::idle;
        }
        if (w == wait_result::closed) break;
      }
      if (!serve_one()) break;
    }
    close_politely();
  } catch (const cancelled&) {
    throw;
  } catch (const std::exception&) {
    // The client reset the connection, stopped reading (write timeout), or a streamed body
    // failed half way: nothing more can be said on this connection.
  }
  return pause::closed;
}

connection::wait_result connection::wait_for_request(bool may_park, bool resumed) {
  writer_.flush();  // answers to pipelined requests wait for nothing more
  const clock::time_point now = clock::now();
  if (!first_request_ && !resumed) idle_until_ = now + options_.idle_timeout;
  if (!first_request_ && may_park && !resumed) {
    if (options_.idle_fiber_linger.count() == 0) return wait_result::idle;
  }
  const bool lingering = !first_request_ && may_park && !resumed;
  const deadline until =
      lingering ? earliest(deadline(idle_until_), deadline(now + options_.idle_fiber_linger))
                : deadline(idle_until_);
  const std::span<char> room = in_.prepare(options_.read_buffer_bytes);
  std::size_t n = 0;
  between_requests_.store(true, std::memory_order_release);
  try {
    // Right after an answer, the client's next request is a round trip away. The stream
    // knows (its registration's readiness) that the last read drained the socket, so this
    // read waits first and reads once.
    n = transport_.read_some(room, until);
  } catch (const timeout_error&) {
    between_requests_.store(false, std::memory_order_release);
    if (lingering && clock::now() < idle_until_) return wait_result::idle;
    return wait_result::closed;  // idle too long, or a new connection that never spoke
  } catch (...) {
    between_requests_.store(false, std::memory_order_release);
    throw;
  }
  between_requests_.store(false, std::memory_order_release);
  in_.commit(n);
  return n == 0 ? wait_result::closed : wait_result::request;
}

bool connection::serve_one() {
  const clock::time_point started = clock::now();
  const deadline header_until =
      first_request_ ? accepted_at_ + options_.header_timeout : started + options_.header_timeout;
  first_request_ = false;
  using result = request_reader::result;
  const result header = reader_.read_header(header_until);
  if (header == result::closed) return false;
  if (header == result::failed) {
    refuse(reader_.failure_status(), reader_.failure_reason(), 11);
    return false;
  }
  const auto& head = reader_.message();
  route_match match =
      router_.find(head.method(), {head.method_string().data(), head.method_string().size()},
                   path_of({head.target().data(), head.target().size()}));
  const unsigned version = head.version();
  if (reader_.has_body()) {
    if (reader_.expects_continue()) {
      if (match.what == route_match::kind::not_found ||
          match.what == route_match::kind::method_not_allowed) {
        // Refuse without reading the body the client has not sent yet (RFC 9110 §10.1.1).
        request req(reader_.release(), peer_);
        response res = router_.dispatch(req, match);
        writer_.write(res, {.version = version, .head = false, .keep_alive = false});
        return false;
      }
      writer_.write_continue();
    }
    if (reader_.read_body(clock::now() + options_.body_timeout) == result::failed) {
      refuse(reader_.failure_status(), reader_.failure_reason(), version);
      return false;
    }
  }
  request req(reader_.release(), peer_);
  response res = call_handler(req, match);
  if (res.is_websocket_upgrade()) return upgrade(req, match, res);
  const bool open = writer_.write(res, {.version = version,
                                        .head = req.method() == verb::head,
                                        .keep_alive = req.keep_alive() && !host_.stopping()});
  return open;
}

response connection::call_handler(request& req, route_match& match) {
  try {
    response res = router_.dispatch(req, match);
    if (match.failure) report_handler_error(options_, req, match.failure);
    return res;
  } catch (const http_error& e) {
    return response::text(e.message() + "\n", e.code());
  } catch (const cancelled&) {
    throw;
  } catch (...) {
    report_handler_error(options_, req, std::current_exception());
    return response::text("internal server error\n", status::internal_server_error);
  }
}

bool connection::upgrade(request& req, route_match& match, response& placeholder) {
  writer_.flush();
  std::string leftover(in_.data());
  in_.consume(leftover.size());
  const websocket::options& ws_options = router::websocket_options_of(match);
  std::shared_ptr<websocket::detail::core> core =
      host_.take_for_websocket(std::move(leftover), ws_options);
  if (!core) {
    response refused = response::text("WebSocket is not available here\n", status::not_implemented);
    writer_.write(refused, {.version = req.version(), .head = false, .keep_alive = false});
    return false;
  }
  websocket::connection ws(std::move(core));
  if (!ws.core()->accept(req.message(), placeholder.message())) return false;
  try {
    router::websocket_handler_of(match)(req, ws);
    ws.close(websocket::close_codes::normal);
  } catch (const cancelled&) {
    throw;
  } catch (const websocket::error&) {
    // the peer broke the protocol or closed on us: the connection is already failed
  } catch (const io_error&) {
  } catch (const timeout_error&) {
  } catch (...) {
    report_handler_error(options_, req, std::current_exception());
    ws.close(websocket::close_codes::internal_error);
  }
  return false;
}

void connection::refuse(status code, const std::string& reason, unsigned version) {
  response res = response::text(reason + "\n", code);
  try {
    writer_.write(res, {.version = version, .head = false, .keep_alive = false});
  } catch (const cancelled&) {
    throw;
  } catch (const std::exception&) {
    // the client is gone: nothing to tell it
  }
}

void connection::close_politely() noexcept {
  try {
    writer_.flush();
    transport_.shutdown_send();
    // Read (and drop) what the client was still sending — the rest of a refused body, the
    // next pipelined request — until it closes, briefly: closing with unread bytes sends a
    // reset, which can destroy our answer before the client reads it.
    const deadline until = clock::now() + drain_time;
    std::size_t drained = in_.size();
    in_.consume(in_.size());
    while (drained < drain_bytes) {
      const std::span<char> room = in_.prepare(options_.read_buffer_bytes);
      const std::size_t n = transport_.read_some(room, until);
      if (n == 0) break;
      drained += n;
    }
  } catch (...) {
    // a timeout, a reset, a cancellation: the connection is closed either way
  }
}

}  // namespace balrog::http::server::detail
