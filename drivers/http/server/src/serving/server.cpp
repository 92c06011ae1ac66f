#include "balrog/http/server/server.hpp"

#include <mutex>

#include "balrog/errors.hpp"
#include "balrog/runtime.hpp"
#include "serving/server_state.hpp"
#include "serving/shard_server.hpp"
#include "serving/signal_watch.hpp"
#include "serving/thread_server.hpp"

namespace balrog::http::server {

namespace detail {

void check_options(const options& o) {
  const auto refuse = [](const char* what) {
    throw usage_error(std::string("balrog::http::server::options: ") + what);
  };
  if (o.max_header_bytes < 64) refuse("max_header_bytes must be at least 64");
  if (o.max_header_bytes > (std::size_t{1} << 30)) refuse("max_header_bytes is over 1 GiB");
  if (o.max_header_fields == 0) refuse("max_header_fields is 0");
  if (o.max_url_bytes == 0) refuse("max_url_bytes is 0");
  if (o.max_connections == 0) refuse("max_connections is 0");
  if (o.read_buffer_bytes == 0) refuse("read_buffer_bytes is 0");
  if (o.header_timeout.count() <= 0) refuse("header_timeout must be positive");
  if (o.body_timeout.count() <= 0) refuse("body_timeout must be positive");
  if (o.idle_timeout.count() <= 0) refuse("idle_timeout must be positive");
  if (o.write_timeout.count() <= 0) refuse("write_timeout must be positive");
  if (o.idle_fiber_linger.count() < 0) refuse("idle_fiber_linger is negative");
  if (o.shutdown_grace.count() < 0) refuse("shutdown_grace is negative");
}

server_state::server_state(router r, options o)
    : routes(std::move(r)),
      opts(std::move(o)),
      slots(static_cast<std::ptrdiff_t>(opts.max_connections)) {
  if (opts.tls) tls = net::tls_context::server(*opts.tls);
}

server_state::~server_state() = default;

void server_state::begin_shutdown(std::chrono::milliseconds grace) {
  if (shutdown_begun.exchange(true)) return;
  grace_ms.store(grace.count());
  stopping.store(true);
  for (auto& s : shards) s->stop.set();
}

void server_state::wait_stopped() {
  if (threads) {
    threads->stop(std::chrono::milliseconds(grace_ms.load()));
    stopped.set();
    return;
  }
  for (auto& s : shards) s->done.wait();
  std::lock_guard guard(finishing);
  if (stopped.is_set()) return;
  for (auto& f : shard_fibers) {
    try {
      if (f.joinable()) f.join();
    } catch (...) {
      // a shard's fiber failed: the shard is stopped all the same
    }
  }
  stopped.set();
}

}  // namespace detail

server::server(router routes, options opts) {
  detail::check_options(opts);
  state_ = std::make_unique<detail::server_state>(std::move(routes), std::move(opts));
}

server::~server() {
  try {
    state_->signals.reset();
    shutdown(std::chrono::milliseconds(0));
  } catch (...) {
    // a destructor cannot report it; shutdown only throws when its caller is cancelled
  }
}

void server::listen(const net::endpoint& where) {
  detail::server_state& s = *state_;
  if (s.listening) throw usage_error("balrog::http::server::server::listen: already listening");
  net::listen_options lo = s.opts.listen;
  const std::size_t shards = this_shard::count();
  if (shards == 0) {
    // Sync mode: a thread per connection.
    net::listener l = net::listen(where, lo);
    s.where = l.local_endpoint();
    s.threads = std::make_unique<detail::thread_server>(s, std::move(l));
    s.threads->start();
    s.listening = true;
    return;
  }
  if (shards > 1) lo.reuse_port = true;
  std::vector<net::listener> listeners;
  net::endpoint at = where;
  for (std::size_t i = 0; i < shards; ++i) {
    listeners.push_back(net::listen(at, lo));
    if (i == 0) at = listeners[0].local_endpoint();  // port 0: the others share the chosen one
  }
  s.where = at;
  for (std::size_t i = 0; i < shards; ++i) {
    s.shards.push_back(std::make_shared<detail::shard_server>(s, std::move(listeners[i]), i));
  }
  for (std::size_t i = 0; i < shards; ++i) {
    s.shard_fibers.push_back(spawn_on(i, [shard = s.shards[i]] { shard->run(); },
                                      {.name = "http-shard-" + std::to_string(i)}));
  }
  s.listening = true;
}

net::endpoint server::local_endpoint() const {
  if (!state_->listening) {
    throw usage_error("balrog::http::server::server::local_endpoint: not listening");
  }
  return state_->where;
}

void server::shutdown(std::chrono::milliseconds grace) {
  if (!state_->listening) return;
  state_->begin_shutdown(grace);
  state_->wait_stopped();
}

void server::shutdown() { shutdown(state_->opts.shutdown_grace); }

void server::wait() {
  if (!state_->listening) return;
  if (state_->threads) {
    state_->stopped.wait();
    return;
  }
  for (auto& s : state_->shards) s->done.wait();
  state_->wait_stopped();
}

void server::shutdown_on_signals(std::initializer_list<int> signals) {
  if (!state_->listening) {
    throw usage_error("balrog::http::server::server::shutdown_on_signals: call it after listen()");
  }
  state_->signals = std::make_unique<detail::signal_watch>(signals, [this] { shutdown(); });
}

std::size_t server::open_connections() const noexcept {
  return state_->open.load(std::memory_order_relaxed);
}

std::size_t server::accepted_connections() const noexcept {
  return state_->accepted.load(std::memory_order_relaxed);
}

}  // namespace balrog::http::server
