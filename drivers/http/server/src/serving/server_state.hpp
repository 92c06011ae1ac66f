// What one server's shards (or threads) share: the router, the options, the connection
// slots, the shutdown flag and counters. The router and options are read-only once serving.
#pragma once

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "balrog/fiber.hpp"
#include "balrog/http/server/options.hpp"
#include "balrog/http/server/router.hpp"
#include "balrog/net/endpoint.hpp"
#include "balrog/net/tls_stream.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/sync/mutex.hpp"
#include "balrog/sync/semaphore.hpp"

namespace balrog::http::server::detail {

class shard_server;
class thread_server;
class signal_watch;

// The list a shard (or the sync-mode server) keeps its connections in: intrusive, so joining
// and leaving it allocates nothing.
using connection_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::normal_link>>;
template <class Connection>
using connection_list =
    boost::intrusive::list<Connection, boost::intrusive::base_hook<connection_hook>,
                           boost::intrusive::constant_time_size<false>>;

class server_state {
 public:
  server_state(router r, options o);
  ~server_state();

  const router routes;
  const options opts;
  // HTTPS (options::tls): the server context every connection's TLS stream is made from.
  std::optional<net::tls_context> tls;
  // One permit per connection that may open (options::max_connections).
  semaphore slots;
  // Set once shutdown() starts: connections finish their request and close.
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> grace_ms{0};
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> accepted{0};

  net::endpoint where;
  bool listening = false;

  // Fiber mode: one per shard, and the fibers that run them.
  std::vector<std::shared_ptr<shard_server>> shards;
  std::vector<fiber<void>> shard_fibers;
  // Sync mode.
  std::unique_ptr<thread_server> threads;
  // shutdown_on_signals().
  std::unique_ptr<signal_watch> signals;

  // Shutdown: started once (begin), finished once (every waiter then returns).
  std::atomic<bool> shutdown_begun{false};
  event stopped;
  mutex finishing;  // the first waiter joins the shard fibers

  void begin_shutdown(std::chrono::milliseconds grace);
  void wait_stopped();
};

// Throws usage_error for options that make no sense.
void check_options(const options& o);

}  // namespace balrog::http::server::detail
