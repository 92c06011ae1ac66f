// The lock that keeps a WebSocket's frames whole (see core.hpp): a FIFO balrog::mutex plus who
// holds it, so that a write made while holding it (Beast writing a frame inside send(), a
// ping from inside a wait) does not wait for itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "balrog/sync/mutex.hpp"
#include "balrog/this_fiber.hpp"

namespace balrog::http::websocket::detail {

struct write_lock {
  mutex m;
  // The holder: its thread and fiber id (0 on a plain thread). Read by others only to learn
  // that they are not the holder.
  std::atomic<std::thread::id> thread{};
  std::atomic<std::uint64_t> fiber{0};

  [[nodiscard]] bool held_by_caller() const noexcept {
    return thread.load() == std::this_thread::get_id() && fiber.load() == this_fiber::id().value();
  }
};

// Holds the lock for the caller, or notes that the caller holds it already (nested).
class write_section {
 public:
  explicit write_section(write_lock& l) : lock_(l) {
    if (!l.held_by_caller()) reacquire();
  }
  ~write_section() { release(); }
  write_section(const write_section&) = delete;
  write_section& operator=(const write_section&) = delete;

  // Lets go (a receiver in big-lock mode, while it waits for bytes); reacquire() takes it
  // back. If reacquire() throws (cancelled, a deadline), the section does not hold it.
  void release() noexcept {
    if (!held_) return;
    lock_.thread.store(std::thread::id{});
    lock_.fiber.store(0);
    lock_.m.unlock();
    held_ = false;
  }
  void reacquire() {
    lock_.m.lock();
    lock_.fiber.store(this_fiber::id().value());
    lock_.thread.store(std::this_thread::get_id());
    held_ = true;
  }

 private:
  write_lock& lock_;
  bool held_ = false;
};

}  // namespace balrog::http::websocket::detail
