#include "serving/thread_server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <mutex>

#include "balrog/errors.hpp"
#include "connection/connection.hpp"
#include "serving/connection_stream.hpp"
#include "websocket/core.hpp"

namespace balrog::http::server::detail {

class thread_connection final : public connection_host, public connection_hook {
 public:
  thread_connection(thread_server& owner, net::stream s, net::endpoint peer)
      : owner_(owner),
        conn_(std::move(s), owner.state().tls),
        http_(conn_.io(), owner.state().routes, owner.state().opts, *this, std::move(peer)) {}

  bool stopping() const noexcept override {
    return owner_.state().stopping.load(std::memory_order_relaxed);
  }
  std::shared_ptr<websocket::detail::core> take_for_websocket(
      std::string leftover, const websocket::options& options) override {
    auto core = conn_.is_tls() ? websocket::detail::core::make_server(std::move(conn_.tls()),
                                                                      std::move(leftover), options)
                               : websocket::detail::core::make_server(std::move(conn_.plain()),
                                                                      std::move(leftover), options);
    std::lock_guard guard(owner_.connections_lock());
    websocket_ = core;
    return core;
  }

  void serve() noexcept {
    try {
      conn_.handshake(clock::now() + owner_.state().opts.header_timeout);
      (void)http_.serve(/*may_park=*/false);
    } catch (...) {
      // a failed TLS handshake; only cancellation escapes serve(), and plain threads are never
      // cancelled
    }
  }

  // Both called with the owner's lock held.
  void end_if_idle() noexcept {
    if (websocket_) {
      websocket_->request_close(1001, "server shutting down");
    } else if (http_.between_requests()) {
      ::shutdown(conn_.fd(), SHUT_RD);
    }
  }
  void force_close() noexcept {
    if (websocket_) websocket_->drop();
    ::shutdown(conn_.fd(), SHUT_RDWR);
  }

  void close() noexcept {
    conn_.close();
    if (websocket_) websocket_->drop();
  }

 private:
  thread_server& owner_;
  connection_stream conn_;
  connection http_;
  std::shared_ptr<websocket::detail::core> websocket_;
};

thread_server::thread_server(server_state& state, net::listener listener)
    : state_(state), listener_(std::move(listener)), listener_fd_(listener_.native_handle()) {}

thread_server::~thread_server() { stop(std::chrono::milliseconds(0)); }

void thread_server::start() {
  acceptor_ = std::thread([this] { accept_loop(); });
}

void thread_server::forget(thread_connection& c) noexcept {
  {
    std::lock_guard guard(lock_);
    connections_.erase(connections_.iterator_to(c));
  }
  state_.open.fetch_sub(1, std::memory_order_relaxed);
  state_.slots.release();
  live_.done();
}

void thread_server::serve(thread_connection* c) noexcept {
  c->serve();
  forget(*c);  // out of the list first: nobody touches its socket once it is closed
  c->close();
  delete c;
}

void thread_server::accept_loop() {
  while (!state_.stopping.load()) {
    state_.slots.acquire();
    net::stream s;
    net::endpoint peer;
    try {
      // A bounded wait, so that a stop() whose wake-up (shutdown of the listening socket) came
      // just before this wait began is still seen within a second.
      s = listener_.accept(std::chrono::seconds(1));
      peer = s.remote_endpoint();
      s.set_nodelay(true);
    } catch (const std::exception& e) {
      state_.slots.release();
      const auto* io = dynamic_cast<const io_error*>(&e);
      if (io != nullptr && (io->code().value() == EMFILE || io->code().value() == ENFILE)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    if (state_.stopping.load()) {
      state_.slots.release();
      break;
    }
    thread_connection* c = nullptr;
    try {
      c = new thread_connection(*this, std::move(s), std::move(peer));
    } catch (const std::exception&) {
      // No memory, or OpenSSL could not make the connection's TLS object.
      state_.slots.release();
      continue;
    }
    state_.accepted.fetch_add(1, std::memory_order_relaxed);
    state_.open.fetch_add(1, std::memory_order_relaxed);
    live_.add();
    {
      std::lock_guard guard(lock_);
      connections_.push_back(*c);
    }
    try {
      std::thread([this, c] { serve(c); }).detach();
    } catch (...) {
      forget(*c);
      c->close();
      delete c;
    }
  }
  listener_.close();
}

void thread_server::stop(std::chrono::milliseconds grace) {
  std::lock_guard once(stopping_);
  if (stopped_) return;
  stopped_ = true;
  state_.stopping.store(true);
  // Wakes the acceptor from its poll(2) at once (accept then fails with EINVAL); it closes
  // the listener itself, on its own thread.
  ::shutdown(listener_fd_, SHUT_RDWR);
  state_.slots.release();  // an acceptor waiting for a free slot wakes up and sees the stop
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard guard(lock_);
    for (auto& c : connections_) c.end_if_idle();
  }
  if (!live_.wait_for(grace)) {
    {
      std::lock_guard guard(lock_);
      for (auto& c : connections_) c.force_close();
    }
    live_.wait();  // a plain thread cannot be cancelled: its handler has to return
  }
}

}  // namespace balrog::http::server::detail
