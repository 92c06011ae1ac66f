#include "balrog/per_shard_server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <system_error>

#include "balrog/errors.hpp"
#include "balrog/runtime.hpp"
#include "balrog/this_fiber.hpp"

namespace balrog {

struct per_shard_server::shard {
  explicit shard(net::listener l) : listener(std::move(l)) {}
  net::listener listener;
  std::atomic<std::size_t> accepted{0};
};

namespace {

void serve_one(const per_shard_server::handler& on_connection, net::stream conn) {
  std::string peer = "?";
  try {
    peer = conn.remote_endpoint().to_string();
  } catch (const io_error&) {
    // gone already; the handler will find out
  }
  try {
    on_connection(std::move(conn));
  } catch (const cancelled&) {
    // shutting down
  } catch (const std::exception& e) {
    std::fprintf(stderr, "balrog::per_shard_server: connection from %s failed: %s\n", peer.c_str(),
                 e.what());
  }
}

// accept() failed for want of a resource that comes back when connections close: out of file
// descriptors (the process's or the system's) or of kernel memory (H in the runtime review).
bool out_of_resources(const io_error& e) {
  const std::error_code& c = e.code();
  return c == std::errc::too_many_files_open || c == std::errc::too_many_files_open_in_system ||
         c == std::errc::no_buffer_space || c == std::errc::not_enough_memory;
}

// Go's http.Server: 5 ms, doubling up to 100 ms (1 s there); the first failure is logged.
std::chrono::milliseconds next_backoff(std::chrono::milliseconds previous, const io_error& e) {
  if (previous.count() == 0) {
    std::fprintf(stderr, "balrog::per_shard_server: accept failed (%s); retrying with back-off\n",
                 e.what());
    return std::chrono::milliseconds(5);
  }
  return std::min(previous * 2, std::chrono::milliseconds(100));
}

}  // namespace

per_shard_server::per_shard_server(const net::endpoint& where, handler on_connection,
                                   net::listen_options options) {
  const std::size_t n = this_shard::count();
  if (n == 0) {
    throw usage_error(
        "balrog::per_shard_server: construct it on a fiber inside balrog::run or "
        "balrog::runtime::run");
  }
  options.reuse_port = true;
  where_ = where;
  for (std::size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_shared<shard>(net::listen(where_, options)));
    if (i == 0) where_ = shards_[0]->listener.local_endpoint();  // port 0 resolved
  }
  auto shared_handler = std::make_shared<const handler>(std::move(on_connection));
  for (std::size_t i = 0; i < n; ++i) {
    acceptors_.push_back(spawn_on(i,
                                  [s = shards_[i], shared_handler] {
                                    std::chrono::milliseconds backoff{};
                                    for (;;) {
                                      net::stream conn;
                                      try {
                                        conn = s->listener.accept();
                                      } catch (const io_error& e) {
                                        if (!s->listener.is_open()) return;  // stop() closed it
                                        if (!out_of_resources(e)) throw;
                                        backoff = next_backoff(backoff, e);
                                        this_fiber::sleep_for(backoff);
                                        continue;
                                      }
                                      backoff = {};
                                      s->accepted.fetch_add(1, std::memory_order_relaxed);
                                      spawn([shared_handler, c = std::move(conn)]() mutable {
                                        serve_one(*shared_handler, std::move(c));
                                      }).detach();
                                    }
                                  },
                                  {.name = "acceptor-" + std::to_string(i)}));
  }
}

per_shard_server::~per_shard_server() {
  try {
    stop();
  } catch (...) {
    // stop() only throws when an acceptor failed; a destructor cannot report it any better
  }
}

std::vector<std::size_t> per_shard_server::accepted_per_shard() const {
  std::vector<std::size_t> counts;
  for (const auto& s : shards_) counts.push_back(s->accepted.load(std::memory_order_relaxed));
  return counts;
}

void per_shard_server::stop() {
  if (acceptors_.empty()) return;
  // Close each listener on its own shard: a close from another thread might miss an acceptor
  // that is just about to wait (see net/stream.hpp, "Sharing").
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    spawn_on(i, [s = shards_[i]] { s->listener.close(); }).join();
  }
  std::exception_ptr failure;
  for (auto& a : acceptors_) {
    try {
      a.join();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  acceptors_.clear();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace balrog
