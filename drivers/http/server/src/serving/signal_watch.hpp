// shutdown_on_signals(): a signal handler that only writes to an eventfd (async-signal-safe),
// and a watcher — a fiber of the calling shard, or a thread in sync mode — that waits for the
// eventfd and runs the callback on its own stack.
#pragma once

#include <csignal>
#include <functional>
#include <initializer_list>
#include <thread>
#include <vector>

#include "balrog/fiber.hpp"

namespace balrog::http::server::detail {

class signal_watch {
 public:
  // Installs the handlers (throws io_error when sigaction or eventfd fails) and starts the
  // watcher. `on_signal` runs once, on the watcher, after the first of `signals` arrived and
  // the previous dispositions were put back.
  signal_watch(std::initializer_list<int> signals, std::function<void()> on_signal);
  // Stops the watcher and puts the previous dispositions back (if no signal came).
  ~signal_watch();
  signal_watch(const signal_watch&) = delete;
  signal_watch& operator=(const signal_watch&) = delete;

 private:
  void watch() noexcept;
  void restore() noexcept;

  std::vector<int> signals_;
  std::vector<struct sigaction> previous_;
  std::function<void()> on_signal_;
  int event_fd_ = -1;
  int slot_ = -1;
  bool restored_ = false;
  fiber<void> fiber_;   // fiber mode
  std::thread thread_;  // sync mode
};

}  // namespace balrog::http::server::detail
