// Sync mode: the server without a runtime. An acceptor thread, and a thread per connection
// running the same connection loop (blocking in poll(2) instead of suspending a fiber).
#pragma once

#include <chrono>
#include <thread>

#include "balrog/net/listener.hpp"
#include "balrog/sync/mutex.hpp"
#include "balrog/sync/wait_group.hpp"
#include "serving/server_state.hpp"

namespace balrog::http::server::detail {

class thread_connection;

class thread_server {
 public:
  thread_server(server_state& state, net::listener listener);
  ~thread_server();

  void start();
  // Graceful shutdown from any thread: stops accepting, ends idle connections, waits up to
  // `grace` for the others, then breaks their sockets and waits for their threads.
  void stop(std::chrono::milliseconds grace);

  // thread_connection's part.
  server_state& state() noexcept { return state_; }
  mutex& connections_lock() noexcept { return lock_; }
  void forget(thread_connection& c) noexcept;

 private:
  void accept_loop();
  void serve(thread_connection* c) noexcept;

  server_state& state_;
  net::listener listener_;
  int listener_fd_;
  std::thread acceptor_;
  // The connections, guarded by `lock_`: shutdown touches their sockets from another thread,
  // so a connection leaves the list before its socket is closed.
  mutex lock_;
  connection_list<thread_connection> connections_;
  wait_group live_;
  mutex stopping_;  // one stop() at a time
  bool stopped_ = false;
};

}  // namespace balrog::http::server::detail
