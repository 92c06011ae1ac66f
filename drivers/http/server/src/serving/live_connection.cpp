#include "serving/live_connection.hpp"

#include <sys/socket.h>

#include "balrog/this_fiber.hpp"
#include "websocket/core.hpp"

namespace balrog::http::server::detail {

live_connection::live_connection(shard_server& shard, net::stream s, net::endpoint peer)
    : shard_(shard),
      conn_(std::move(s), shard.state().tls),
      http_(conn_.io(), shard.state().routes, shard.state().opts, *this, std::move(peer)) {}

void live_connection::start(bool resumed) {
  phase_ = phase::serving;
  worker_ = spawn([this, resumed] { run(resumed); }, shard_.state().opts.connection_fiber);
}

void live_connection::start_or_finish() noexcept {
  try {
    start(/*resumed=*/false);
  } catch (...) {
    finish();
  }
}

bool live_connection::stopping() const noexcept {
  return shard_.state().stopping.load(std::memory_order_relaxed);
}

std::shared_ptr<websocket::detail::core> live_connection::take_for_websocket(
    std::string leftover, const websocket::options& options) {
  phase_ = phase::websocket;
  websocket_ = conn_.is_tls() ? websocket::detail::core::make_server(std::move(conn_.tls()),
                                                                     std::move(leftover), options)
                              : websocket::detail::core::make_server(std::move(conn_.plain()),
                                                                     std::move(leftover), options);
  return websocket_;
}

int live_connection::fd() const noexcept {
  return websocket_ ? websocket_->native_handle() : conn_.fd();
}

void live_connection::run(bool resumed) noexcept {
  bool idle = false;
  try {
    if (!resumed) conn_.handshake(clock::now() + shard_.state().opts.header_timeout);
    // Over TLS, OpenSSL may hold decrypted bytes the socket no longer shows: no parking.
    idle = http_.serve(/*may_park=*/!conn_.is_tls(), resumed) == connection::pause::idle;
  } catch (...) {
    // a failed TLS handshake, or cancelled (shutdown after the grace period, or the runtime
    // ends): close below
  }
  if (idle && !stopping() && !this_fiber::cancellation_requested()) {
    try {
      park();
      return;
    } catch (...) {
      // no memory for the coroutine: close the connection instead
    }
  }
  finish();
}

void live_connection::park() {
  spawn_task(wait_parked(this), {.name = "http-parked"}).detach();
  phase_ = phase::parked;
  worker_.detach();  // this fiber ends now; the coroutine owns the connection
}

task<void> live_connection::wait_parked(live_connection* self) {
  bool woken = false;
  try {
    co_await self->conn_.plain().async_wait_readable(self->http_.idle_until());
    woken = true;
  } catch (...) {
    // idle_timeout passed, or the runtime is cancelling its coroutines
  }
  if (woken && !self->stopping()) {
    try {
      self->start(/*resumed=*/true);
      co_return;
    } catch (...) {
      // no stack for a fiber: close
    }
  }
  self->finish();
}

void live_connection::end_if_idle() noexcept {
  if (phase_ == phase::websocket) {
    if (websocket_) websocket_->request_close(1001, "server shutting down");
    return;
  }
  if (phase_ == phase::parked || http_.between_requests()) {
    // The reader sees the end of the stream: the fiber (or the parked coroutine) ends.
    ::shutdown(fd(), SHUT_RD);
  }
}

void live_connection::force_close() noexcept {
  if (phase_ != phase::parked && worker_.joinable()) worker_.cancel();
  if (websocket_) websocket_->drop();
  ::shutdown(fd(), SHUT_RDWR);
}

void live_connection::finish() noexcept {
  shard_.forget(*this);
  conn_.close();
  if (websocket_) websocket_->drop();
  if (worker_.joinable()) worker_.detach();  // the fiber running this, if any, ends right after
  delete this;
}

}  // namespace balrog::http::server::detail
