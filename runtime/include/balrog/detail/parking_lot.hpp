// balrog/detail/parking_lot.hpp — wait queues keyed by address, for balrog::atomic_wait.
//
// A fixed table of buckets, each a spinlock and a wait queue; an address hashes to one bucket,
// whose waiters carry the address they wait on (waiter::payload), so notifying one address
// wakes only its waiters. The protocol is the futex one: a waiter re-checks its condition under
// the bucket's lock and enqueues before releasing it, and a notifier takes the same lock after
// changing the value, so no wake-up is lost.
#pragma once

#include <cstddef>
#include <mutex>

#include "balrog/deadline.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/spinlock.hpp"
#include "balrog/detail/wait_queue.hpp"

namespace balrog::detail::parking_lot {

struct alignas(64) bucket {
  spinlock lock;
  wait_queue waiters;
};

bucket& bucket_for(const void* address) noexcept;

// Parks the calling context (a fiber, or a thread) on `address` as long as `unchanged()` holds,
// checked under the bucket's lock; returns once it does not (spurious wake-ups are absorbed).
// Throws cancelled, timeout_error (enclosing deadline_scope), usage_error (in a coroutine).
template <class Unchanged>
void wait(const void* address, Unchanged unchanged) {
  bucket& b = bucket_for(address);
  for (;;) {
    std::unique_lock lk(b.lock);
    if (!unchanged()) return;
    waiter w(current_context());
    w.payload = const_cast<void*>(address);
    const wake_reason why = park_on(b.waiters, w, lk, deadline::never(), "atomic_wait");
    lk.unlock();
    throw_if_failed(why);
  }
}

// Wakes one (all = false) or every waiter parked on `address`; returns how many it woke.
std::size_t notify(const void* address, bool all) noexcept;

}  // namespace balrog::detail::parking_lot
