#include "serving/signal_watch.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "balrog/errors.hpp"
#include "balrog/io.hpp"
#include "balrog/runtime.hpp"
#include "balrog/this_fiber.hpp"

namespace balrog::http::server::detail {

namespace {

// The eventfds the handler writes to, one slot per watching server, stored as fd + 1 (0:
// free). A handler may only do async-signal-safe things: atomics and write(2).
constexpr std::size_t max_watches = 16;
std::array<std::atomic<int>, max_watches> watch_fds{};

// Written to the eventfd by ~signal_watch to stop the watcher; a signal writes 1.
constexpr std::uint64_t stop_value = std::uint64_t{1} << 40;

void on_signal_handler(int /*signo*/) {
  const int saved_errno = errno;
  for (auto& slot : watch_fds) {
    const int fd = slot.load(std::memory_order_acquire) - 1;
    if (fd < 0) continue;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
  }
  errno = saved_errno;
}

}  // namespace

signal_watch::signal_watch(std::initializer_list<int> signals, std::function<void()> on_signal)
    : signals_(signals), on_signal_(std::move(on_signal)) {
  event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) throw_errno("balrog::http::server: eventfd for shutdown_on_signals");
  for (std::size_t i = 0; i < max_watches; ++i) {
    int expected = 0;
    if (watch_fds[i].compare_exchange_strong(expected, event_fd_ + 1)) {
      slot_ = static_cast<int>(i);
      break;
    }
  }
  if (slot_ < 0) {
    ::close(event_fd_);
    throw usage_error("balrog::http::server::shutdown_on_signals: more than 16 servers watch");
  }
  struct sigaction action {};
  action.sa_handler = on_signal_handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (const int signo : signals_) {
    struct sigaction old {};
    if (::sigaction(signo, &action, &old) != 0) {
      const int err = errno;
      restore();
      watch_fds[static_cast<std::size_t>(slot_)].store(0);
      ::close(event_fd_);
      throw_errno(err, "balrog::http::server: sigaction(" + std::to_string(signo) + ")");
    }
    previous_.push_back(old);
  }
  if (this_shard::count() > 0) {
    fiber_ = spawn([this] { watch(); }, {.name = "http-signal-watch"});
  } else {
    thread_ = std::thread([this] { watch(); });
  }
}

signal_watch::~signal_watch() {
  const std::uint64_t stop = stop_value;
  [[maybe_unused]] const ssize_t n = ::write(event_fd_, &stop, sizeof stop);
  if (fiber_.joinable()) {
    try {
      fiber_.join();
    } catch (...) {
      // the callback failed: nothing to report it to any more
    }
  }
  if (thread_.joinable()) thread_.join();
  restore();
  watch_fds[static_cast<std::size_t>(slot_)].store(0);
  ::close(event_fd_);
}

void signal_watch::restore() noexcept {
  if (restored_) return;
  restored_ = true;
  for (std::size_t i = 0; i < previous_.size(); ++i) {
    ::sigaction(signals_[i], &previous_[i], nullptr);
  }
}

void signal_watch::watch() noexcept {
  try {
    for (;;) {
      wait_readable(event_fd_);
      std::uint64_t value = 0;
      if (::read(event_fd_, &value, sizeof value) != sizeof value) continue;
      if (value >= stop_value) return;
      restore();  // a second signal has its usual effect
      on_signal_();
      return;
    }
  } catch (...) {
    // cancelled with the runtime, or the callback failed: stop watching
  }
}

}  // namespace balrog::http::server::detail
