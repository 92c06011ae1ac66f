#include "serving/shard_server.hpp"

#include <cerrno>
#include <string>

#include "balrog/errors.hpp"
#include "balrog/this_fiber.hpp"
#include "serving/live_connection.hpp"

namespace balrog::http::server::detail {

shard_server::shard_server(server_state& state, net::listener listener, std::size_t index)
    : state_(state), listener_(std::move(listener)), index_(index) {}

shard_server::~shard_server() = default;

void shard_server::forget(live_connection& c) noexcept {
  connections_.erase(connections_.iterator_to(c));
  state_.open.fetch_sub(1, std::memory_order_relaxed);
  state_.slots.release();
  live_.done();
}

void shard_server::accept_loop() {
  for (;;) {
    state_.slots.acquire();  // back-pressure: at the limit, new clients wait in the backlog
    net::stream s;
    net::endpoint peer;
    try {
      s = listener_.accept();
      peer = s.remote_endpoint();
      s.set_nodelay(true);  // answers are written whole: do not hold their last segment back
    } catch (const io_error& e) {
      state_.slots.release();
      if (!listener_.is_open()) return;  // shutdown closed it
      const int err = e.code().value();
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Out of descriptors or memory: the connection stays queued; try again shortly
        // rather than spin.
        this_fiber::sleep_for(std::chrono::milliseconds(50));
      }
      continue;  // ENOTCONN and the like: the client reset already
    } catch (...) {
      state_.slots.release();
      throw;  // cancelled
    }
    live_connection* c = nullptr;
    try {
      c = new live_connection(*this, std::move(s), std::move(peer));
    } catch (const std::exception&) {
      // No memory, or OpenSSL could not make the connection's TLS object.
      state_.slots.release();  // the stream closes with `s`
      continue;
    }
    state_.accepted.fetch_add(1, std::memory_order_relaxed);
    state_.open.fetch_add(1, std::memory_order_relaxed);
    live_.add();
    connections_.push_back(*c);
    c->start_or_finish();
  }
}

void shard_server::run() {
  fiber<void> acceptor =
      spawn([this] { accept_loop(); }, {.name = "http-acceptor-" + std::to_string(index_)});
  std::chrono::milliseconds grace{0};
  try {
    stop.wait();
    grace = std::chrono::milliseconds(state_.grace_ms.load());
  } catch (const cancelled&) {
    // The runtime ends without a shutdown(): close everything at once.
  }
  this_fiber::cancellation_shield shield;  // the drain must run to its end
  listener_.close();
  acceptor.cancel();
  try {
    acceptor.join();
  } catch (...) {
    // cancelled, or the acceptor failed: it has stopped either way
  }
  drain(grace);
  done.set();
}

void shard_server::drain(std::chrono::milliseconds grace) {
  for (auto& c : connections_) c.end_if_idle();
  if (live_.wait_for(grace)) return;
  for (auto& c : connections_) c.force_close();
  live_.wait();
}

}  // namespace balrog::http::server::detail
