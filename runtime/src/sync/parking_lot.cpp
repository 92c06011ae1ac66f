#include "balrog/detail/parking_lot.hpp"

#include <array>
#include <cstdint>

namespace balrog::detail::parking_lot {

namespace {
constexpr std::size_t bucket_count = 256;
std::array<bucket, bucket_count> buckets;
}  // namespace

bucket& bucket_for(const void* address) noexcept {
  auto h = reinterpret_cast<std::uintptr_t>(address);
  h ^= h >> 17;
  h *= 0x9e3779b97f4a7c15ULL;
  return buckets[(h >> 56) % bucket_count];
}

std::size_t notify(const void* address, bool all) noexcept {
  bucket& b = bucket_for(address);
  std::lock_guard lk(b.lock);
  std::size_t woken = 0;
  waiter* w = b.waiters.front();
  while (w != nullptr) {
    waiter* const next = w->next;  // read before the wake: a woken waiter may be gone
    if (w->payload == address) {
      b.waiters.erase(*w);
      if (w->ctx->try_wake(wake_reason::notified)) {
        ++woken;
        if (!all) break;
      }
    }
    w = next;
  }
  return woken;
}

}  // namespace balrog::detail::parking_lot
