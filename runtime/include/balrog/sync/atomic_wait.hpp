// balrog/sync/atomic_wait.hpp — std::atomic<T>::wait/notify_* twins that suspend fibers.
//
// std::atomic<T>::wait(old) blocks the thread until the value changes; on a fiber that stalls
// every fiber of the shard, and hangs it when the notifier is one of them. These free functions
// do the same waits on a parking lot keyed by the atomic's address: a waiting fiber suspends,
// and the shard runs on. balrog-gen's sync-types pass rewrites the calls (only the calls: the
// atomics stay std::atomic):
//
//   a.wait(old[, order])          ->  balrog::atomic_wait(a, old[, order])
//   p->wait(old[, order])         ->  balrog::atomic_wait(p, old[, order])
//   a.notify_one() / notify_all() ->  balrog::atomic_notify_one(a) / atomic_notify_all(a)
//   std::atomic_wait(p, old), std::atomic_wait_explicit, std::atomic_notify_one/all,
//   std::atomic_flag_wait(p, old), _explicit, std::atomic_flag_notify_one/all
//                                 ->  the balrog:: functions of the same names
//   (std::atomic_flag's members the same way as std::atomic's).
//
// Semantics are std's: wait returns once a load (with `order`) differs from `old` (compared by
// value representation, as std does), it may wake spuriously inside and re-checks, and a notify
// wakes the waiters of that address only.
//  - On a fiber, the wait is a suspension point: balrog::cancelled, balrog::timeout_error from
//    an enclosing deadline_scope; usage_error inside a coroutine.
//  - Off the runtime (a plain thread) it is std's own wait.
//  - A notify wakes both kinds: the fibers parked here and the threads in std's wait. So a
//    thread waiting in code that was not rewritten is still woken by a rewritten notifier, but a
//    fiber waiting here is NOT woken by a std notify_*() left in code that was not rewritten
//    (a system header, a macro body): rewrite both sides, as balrog-gen does where they are
//    spelled.
//  - std::atomic_ref<T>'s wait has no twin (its address is not observable before C++26).
#pragma once

#include <atomic>
#include <cstring>
#include <type_traits>

#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/parking_lot.hpp"

namespace balrog {

namespace detail {

// True where std's wait is the right one: a plain thread, not a fiber nor a coroutine.
inline bool std_wait_suits() noexcept {
  const execution_context& self = current_context();
  return !self.is_fiber() && self.coroutine_depth == 0;
}

template <class T>
bool same_representation(const T& a, const T& b) noexcept {
  if constexpr (std::is_integral_v<T> || std::is_pointer_v<T> || std::is_enum_v<T>) {
    return a == b;
  } else {
    return std::memcmp(&a, &b, sizeof(T)) == 0;  // std compares value representations
  }
}

}  // namespace detail

template <class T>
void atomic_wait(const std::atomic<T>& a, std::type_identity_t<T> old,
                 std::memory_order order = std::memory_order_seq_cst) {
  if (detail::std_wait_suits()) {
    a.wait(old, order);
    return;
  }
  detail::parking_lot::wait(&a, [&] {
    const T now = a.load(order);
    return detail::same_representation(now, old);
  });
}
template <class T>
void atomic_wait(const std::atomic<T>* a, std::type_identity_t<T> old,
                 std::memory_order order = std::memory_order_seq_cst) {
  atomic_wait(*a, old, order);
}
template <class T>
void atomic_wait_explicit(const std::atomic<T>* a, std::type_identity_t<T> old,
                          std::memory_order order) {
  atomic_wait(*a, old, order);
}

template <class T>
void atomic_notify_one(std::atomic<T>& a) noexcept {
  if (detail::parking_lot::notify(&a, false) == 0) a.notify_one();
}
template <class T>
void atomic_notify_all(std::atomic<T>& a) noexcept {
  detail::parking_lot::notify(&a, true);
  a.notify_all();
}
template <class T>
void atomic_notify_one(std::atomic<T>* a) noexcept {
  atomic_notify_one(*a);
}
template <class T>
void atomic_notify_all(std::atomic<T>* a) noexcept {
  atomic_notify_all(*a);
}

// std::atomic_flag.
inline void atomic_wait(const std::atomic_flag& f, bool old,
                        std::memory_order order = std::memory_order_seq_cst) {
  if (detail::std_wait_suits()) {
    f.wait(old, order);
    return;
  }
  detail::parking_lot::wait(&f, [&] { return f.test(order) == old; });
}
inline void atomic_wait(const std::atomic_flag* f, bool old,
                        std::memory_order order = std::memory_order_seq_cst) {
  atomic_wait(*f, old, order);
}
inline void atomic_flag_wait(const std::atomic_flag* f, bool old) { atomic_wait(*f, old); }
inline void atomic_flag_wait_explicit(const std::atomic_flag* f, bool old,
                                      std::memory_order order) {
  atomic_wait(*f, old, order);
}
inline void atomic_notify_one(std::atomic_flag& f) noexcept {
  if (detail::parking_lot::notify(&f, false) == 0) f.notify_one();
}
inline void atomic_notify_all(std::atomic_flag& f) noexcept {
  detail::parking_lot::notify(&f, true);
  f.notify_all();
}
inline void atomic_notify_one(std::atomic_flag* f) noexcept { atomic_notify_one(*f); }
inline void atomic_notify_all(std::atomic_flag* f) noexcept { atomic_notify_all(*f); }
inline void atomic_flag_notify_one(std::atomic_flag* f) noexcept { atomic_notify_one(*f); }
inline void atomic_flag_notify_all(std::atomic_flag* f) noexcept { atomic_notify_all(*f); }

}  // namespace balrog
