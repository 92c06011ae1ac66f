// The C face of the POSIX thread calls (balrog/compat/c/posix_thread.h). The waits for a thread
// or a semaphore: libc's calls run through balrog::compat::offloaded, with libc's result and
// errno. offloaded may only run
// out of memory before the call is made: reported as libc would (pthread_join's error number,
// the semaphores' -1 with errno ENOMEM), so nothing crosses the C boundary.
#include "balrog/compat/c/posix_thread.h"

#include <cerrno>
#include <chrono>
#include <mutex>
#include <vector>

#include "balrog/compat/offloaded.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/parking_lot.hpp"
#include "balrog/detail/uninterruptible.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "compat/wait_for_fd.hpp"

extern "C" {

int balrog_pthread_join(pthread_t thread, void** retval) {
  try {
    return balrog::compat::offloaded<&::pthread_join>(thread, retval);
  } catch (...) {
    return ENOMEM;
  }
}

int balrog_sem_wait(sem_t* sem) {
  try {
    return balrog::compat::offloaded<&::sem_wait>(sem);
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
}

int balrog_sem_timedwait(sem_t* sem, const struct timespec* abs_timeout) {
  try {
    return balrog::compat::offloaded<&::sem_timedwait>(sem, abs_timeout);
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
}

int balrog_sem_clockwait(sem_t* sem, clockid_t clockid, const struct timespec* abs_timeout) {
  try {
    return balrog::compat::offloaded<&::sem_clockwait>(sem, clockid, abs_timeout);
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
}

}  // extern "C"

// --- pthread mutexes and condition variables on fibers ----------------------------------------
//
// A pthread mutex is owned by an OS thread, and every fiber of a thread is that thread to it:
// a fiber that waits in pthread_mutex_lock stops the whole thread (its other fibers included,
// maybe the one holding the mutex: a deadlock), and a second fiber of the holder's thread would
// get a recursive mutex for free. So the twins keep the user's pthread_mutex_t (other threads,
// and code that was not rewritten, still exclude each other through it) and add what the thread
// does not know: which fiber holds it.
//
//  - `held` (per OS thread: fibers never migrate) lists the mutexes a fiber of this thread took
//    through the twins, with that fiber and its depth (recursive mutexes).
//  - Lock on a fiber: pthread_mutex_trylock; when the mutex is busy (or another fiber of this
//    thread holds it), the fiber parks on the mutex's address in balrog's parking lot, and
//    tries again when woken. The twin unlock wakes one fiber parked there; the try and the park
//    happen under the parking lot bucket's lock, which the unlock's wake takes too, so no wake
//    is lost. A holder that unlocks with libc's own pthread_mutex_unlock (code not rewritten)
//    wakes nobody: parked fibers try again every `retry_slice` anyway.
//  - Condition variables on a fiber: the fiber parks on the condition variable's address, then
//    releases the mutex, waits, and takes the mutex again (always, as POSIX requires). The twin
//    signal / broadcast wake one / every fiber parked there and call libc's own (for threads
//    waiting in libc's pthread_cond_wait). A signal from code not rewritten reaches no fiber:
//    parked fibers return every `cond_slice` (a spurious wake-up, which POSIX allows and callers
//    loop on).
//  - Waits ignore fiber cancellation and deadline_scope (they take effect at the fiber's next
//    suspension point): POSIX gives pthread_mutex_lock no way to report them, and
//    pthread_cond_wait must return with the mutex held.
// Off a fiber (a plain thread, or coroutine code) each twin is libc's own call; the unlock and
// signal twins still wake fibers parked on the address.

namespace {

using balrog::detail::execution_context;
namespace parking_lot = balrog::detail::parking_lot;
using namespace std::chrono_literals;

constexpr auto retry_slice = 5ms;
constexpr auto cond_slice = 10ms;

struct holding {
  const pthread_mutex_t* mutex;
  execution_context* owner;
  unsigned depth;
};
thread_local std::vector<holding> held;

holding* holding_of(const pthread_mutex_t* m) noexcept {
  for (holding& h : held) {
    if (h.mutex == m) return &h;
  }
  return nullptr;
}

void forget(const pthread_mutex_t* m) noexcept {
  for (auto it = held.begin(); it != held.end(); ++it) {
    if (it->mutex == m) {
      held.erase(it);
      return;
    }
  }
}

bool on_fiber() noexcept {
  return balrog::compat::detail::current_place() == balrog::compat::detail::place::fiber;
}

bool valid(const timespec* t) noexcept { return t->tv_nsec >= 0 && t->tv_nsec < 1000000000L; }

// How long until `abstime` on `clock` (negative: passed).
std::chrono::nanoseconds until(const timespec* abstime, clockid_t clock) noexcept {
  timespec now{};
  clock_gettime(clock, &now);
  return std::chrono::seconds(abstime->tv_sec - now.tv_sec) +
         std::chrono::nanoseconds(abstime->tv_nsec - now.tv_nsec);
}

// Parks the calling fiber on `address` until woken or `slice` passes, unless `ready()` (called
// under the bucket's lock) says there is no need.
template <class Ready>
bool park_unless(const void* address, Ready ready, balrog::deadline slice, const char* what) {
  parking_lot::bucket& b = parking_lot::bucket_for(address);
  std::unique_lock lk(b.lock);
  if (ready()) return true;
  balrog::detail::waiter w(balrog::detail::current_context());
  w.payload = const_cast<void*>(address);
  (void)balrog::detail::park_on(b.waiters, w, lk, slice, what);
  return false;
}

// pthread_mutex_lock / timedlock / clocklock on a fiber (abstime null: no time limit).
int fiber_lock(pthread_mutex_t* m, const timespec* abstime, clockid_t clock) {
  execution_context& self = balrog::detail::current_context();
  if (holding* h = holding_of(m); h != nullptr && h->owner == &self) {
    // Locked again by its holder: a recursive mutex counts; any other would deadlock (or, an
    // error-checking one, say EDEADLK): EDEADLK.
    const int rc = pthread_mutex_trylock(m);
    if (rc == 0) ++h->depth;
    return rc == EBUSY ? EDEADLK : rc;
  }
  const balrog::detail::uninterruptible shielded(self);
  int rc = EBUSY;
  const auto try_take = [&] {
    if (holding_of(m) != nullptr) return false;  // another fiber of this thread holds it
    rc = pthread_mutex_trylock(m);
    return rc != EBUSY;
  };
  for (;;) {
    balrog::deadline slice = balrog::clock::now() + retry_slice;
    if (abstime != nullptr) {
      if (!valid(abstime)) {  // as libc: EINVAL only when the lock would have to wait
        if (!try_take()) return EINVAL;
        break;
      }
      const auto left = until(abstime, clock);
      if (left <= 0ns) {
        if (try_take()) break;
        return ETIMEDOUT;
      }
      slice = earliest(slice, balrog::deadline(balrog::clock::now() + left));
    }
    if (park_unless(m, try_take, slice, "pthread_mutex_lock")) break;
  }
  if (rc == 0 || rc == EOWNERDEAD) held.push_back({m, &self, 1});
  return rc;
}

// The condition variable's clock (pthread_condattr_setclock). glibc keeps it in bit 1 of
// __wrefs (nptl/pthread_cond_common.c: 0 CLOCK_REALTIME, 1 CLOCK_MONOTONIC); the compat tests
// check it.
clockid_t clock_of(const pthread_cond_t* c) noexcept {
#if defined(__GLIBC__)
  return (__atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED) & 2U) != 0 ? CLOCK_MONOTONIC
                                                                           : CLOCK_REALTIME;
#else
#error "balrog_pthread_cond_timedwait reads the condition variable's clock as glibc stores it"
#endif
}

int fiber_cond_wait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime,
                    clockid_t clock) {
  execution_context& self = balrog::detail::current_context();
  holding* h = holding_of(m);
  if (h == nullptr || h->owner != &self) return EPERM;  // not the holder (through the twins)
  if (abstime != nullptr && !valid(abstime)) return EINVAL;
  balrog::deadline slice = balrog::clock::now() + cond_slice;
  if (abstime != nullptr) {
    slice = earliest(slice, balrog::deadline(balrog::clock::now() + until(abstime, clock)));
  }
  {
    const balrog::detail::uninterruptible shielded(self);
    // Parked (enqueued, waiting) before the mutex is released: a signal that follows the
    // release finds this fiber.
    parking_lot::bucket& b = parking_lot::bucket_for(c);
    balrog::detail::waiter w(self);
    w.payload = c;
    std::unique_lock lk(b.lock);
    self.prepare_wait();
    b.waiters.push_back(w);
    self.waiting_on = "pthread_cond_wait";
    lk.unlock();
    (void)balrog_pthread_mutex_unlock(m);
    (void)self.wait(slice);
    lk.lock();
    self.waiting_on = nullptr;
    if (w.linked) b.waiters.erase(w);
  }
  const int rc = fiber_lock(m, nullptr, CLOCK_REALTIME);
  if (rc != 0 && rc != EOWNERDEAD) return rc;
  if (abstime != nullptr && until(abstime, clock) <= 0ns) return ETIMEDOUT;
  return rc;
}

}  // namespace

extern "C" {

int balrog_pthread_mutex_lock(pthread_mutex_t* mutex) {
  return on_fiber() ? fiber_lock(mutex, nullptr, CLOCK_REALTIME) : pthread_mutex_lock(mutex);
}

int balrog_pthread_mutex_timedlock(pthread_mutex_t* mutex, const struct timespec* abstime) {
  return on_fiber() ? fiber_lock(mutex, abstime, CLOCK_REALTIME)
                    : pthread_mutex_timedlock(mutex, abstime);
}

int balrog_pthread_mutex_clocklock(pthread_mutex_t* mutex, clockid_t clockid,
                                   const struct timespec* abstime) {
  return on_fiber() ? fiber_lock(mutex, abstime, clockid)
                    : pthread_mutex_clocklock(mutex, clockid, abstime);
}

int balrog_pthread_mutex_trylock(pthread_mutex_t* mutex) {
  if (!on_fiber()) return pthread_mutex_trylock(mutex);
  execution_context& self = balrog::detail::current_context();
  if (holding* h = holding_of(mutex); h != nullptr) {
    if (h->owner != &self) return EBUSY;  // another fiber of this thread holds it
    const int rc = pthread_mutex_trylock(mutex);
    if (rc == 0) ++h->depth;
    return rc;
  }
  const int rc = pthread_mutex_trylock(mutex);
  if (rc == 0 || rc == EOWNERDEAD) held.push_back({mutex, &self, 1});
  return rc;
}

int balrog_pthread_mutex_unlock(pthread_mutex_t* mutex) {
  if (holding* h = holding_of(mutex); h != nullptr) {
    if (on_fiber() && h->owner != &balrog::detail::current_context()) return EPERM;
    const int rc = pthread_mutex_unlock(mutex);
    if (rc != 0) return rc;
    if (--h->depth == 0) forget(mutex);
  } else {
    const int rc = pthread_mutex_unlock(mutex);
    if (rc != 0) return rc;
  }
  parking_lot::notify(mutex, false);
  return 0;
}

int balrog_pthread_cond_wait(pthread_cond_t* cond, pthread_mutex_t* mutex) {
  return on_fiber() ? fiber_cond_wait(cond, mutex, nullptr, CLOCK_REALTIME)
                    : pthread_cond_wait(cond, mutex);
}

int balrog_pthread_cond_timedwait(pthread_cond_t* cond, pthread_mutex_t* mutex,
                                  const struct timespec* abstime) {
  return on_fiber() ? fiber_cond_wait(cond, mutex, abstime, clock_of(cond))
                    : pthread_cond_timedwait(cond, mutex, abstime);
}

int balrog_pthread_cond_clockwait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t clockid,
                                  const struct timespec* abstime) {
  return on_fiber() ? fiber_cond_wait(cond, mutex, abstime, clockid)
                    : pthread_cond_clockwait(cond, mutex, clockid, abstime);
}

int balrog_pthread_cond_signal(pthread_cond_t* cond) {
  parking_lot::notify(cond, false);
  return pthread_cond_signal(cond);
}

int balrog_pthread_cond_broadcast(pthread_cond_t* cond) {
  parking_lot::notify(cond, true);
  return pthread_cond_broadcast(cond);
}

}  // extern "C"
