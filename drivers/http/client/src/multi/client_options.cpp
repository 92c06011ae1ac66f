#include "multi/client_options.hpp"

#include <atomic>
#include <mutex>

namespace balrog::http {

namespace {

struct shared_options {
  std::mutex lock;
  client_options options;
  std::atomic<std::uint64_t> generation{1};
};

shared_options& shared() {
  static shared_options s;
  return s;
}

}  // namespace

void configure(const client_options& options) {
  shared_options& s = shared();
  std::lock_guard lk(s.lock);
  s.options = options;
  s.generation.fetch_add(1, std::memory_order_release);
}

client_options current_client_options() {
  shared_options& s = shared();
  std::lock_guard lk(s.lock);
  return s.options;
}

namespace detail {

bool client_options_changed(std::uint64_t seen) noexcept {
  return shared().generation.load(std::memory_order_acquire) != seen;
}

options_snapshot snapshot_client_options() {
  shared_options& s = shared();
  std::lock_guard lk(s.lock);
  return {s.options, s.generation.load(std::memory_order_relaxed)};
}

}  // namespace detail

}  // namespace balrog::http
