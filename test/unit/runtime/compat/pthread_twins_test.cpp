// The pthread mutex and condition variable twins of the C face (balrog/compat/c/posix_thread.h):
// libc's own off a fiber; on a fiber, a lock that waits suspends only the fiber, fibers of one
// thread exclude each other (a recursive mutex is recursive per fiber), threads and code that
// was not rewritten still exclude through the mutex, condition variables wake fibers, and the
// timed waits honour the clock (glibc's condattr clock included).
#include <gtest/gtest.h>
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "balrog/compat/c/posix_thread.h"
#include "compat_test_support.hpp"

using namespace compat_test;
using namespace std::chrono_literals;

namespace {

timespec after(clockid_t clock, std::chrono::milliseconds ms) {
  timespec t{};
  clock_gettime(clock, &t);
  const auto ns = t.tv_nsec + std::chrono::nanoseconds(ms).count();
  t.tv_sec += static_cast<time_t>(ns / 1000000000);
  t.tv_nsec = static_cast<long>(ns % 1000000000);
  return t;
}

struct recursive_mutex {
  pthread_mutex_t m{};
  recursive_mutex() {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m, &a);
    pthread_mutexattr_destroy(&a);
  }
  ~recursive_mutex() { pthread_mutex_destroy(&m); }
};

}  // namespace

TEST(PthreadTwins, OffAFiberTheyAreLibcs) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  EXPECT_EQ(balrog_pthread_mutex_lock(&m), 0);
  EXPECT_EQ(balrog_pthread_mutex_trylock(&m), EBUSY);
  timespec soon = after(CLOCK_REALTIME, 10ms);
  EXPECT_EQ(balrog_pthread_cond_timedwait(&c, &m, &soon), ETIMEDOUT);
  EXPECT_EQ(balrog_pthread_cond_signal(&c), 0);
  EXPECT_EQ(balrog_pthread_cond_broadcast(&c), 0);
  EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
  timespec t = after(CLOCK_REALTIME, 10ms);
  EXPECT_EQ(balrog_pthread_mutex_timedlock(&m, &t), 0);
  EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
}

TEST(PthreadTwins, FibersOfOneThreadExcludeEachOtherWithoutBlockingIt) {
  balrog::run([] {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    std::vector<int> order;
    ASSERT_EQ(balrog_pthread_mutex_lock(&m), 0);
    auto other = balrog::spawn([&] {
      EXPECT_EQ(balrog_pthread_mutex_trylock(&m), EBUSY);  // held by another fiber
      EXPECT_EQ(balrog_pthread_mutex_lock(&m), 0);
      order.push_back(2);
      EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
    });
    {
      ticker t;
      balrog::this_fiber::sleep_for(30ms);  // holding the mutex across a suspension
      EXPECT_GE(t.stop(), enough_ticks(30ms));
    }
    order.push_back(1);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
    other.join();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
  });
}

TEST(PthreadTwins, HolderAndOwnershipRules) {
  balrog::run([] {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    ASSERT_EQ(balrog_pthread_mutex_lock(&m), 0);
    EXPECT_EQ(balrog_pthread_mutex_lock(&m), EDEADLK);  // libc: deadlock for a normal one
    balrog::spawn([&] { EXPECT_EQ(balrog_pthread_mutex_unlock(&m), EPERM); }).join();
    timespec soon = after(CLOCK_REALTIME, 20ms);
    balrog::spawn([&] { EXPECT_EQ(balrog_pthread_mutex_timedlock(&m, &soon), ETIMEDOUT); }).join();
    EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
    // A recursive mutex is recursive per fiber: another fiber of the thread waits.
    recursive_mutex r;
    ASSERT_EQ(balrog_pthread_mutex_lock(&r.m), 0);
    EXPECT_EQ(balrog_pthread_mutex_lock(&r.m), 0);
    EXPECT_EQ(balrog_pthread_mutex_trylock(&r.m), 0);
    std::atomic<bool> got{false};
    auto other = balrog::spawn([&] {
      EXPECT_EQ(balrog_pthread_mutex_trylock(&r.m), EBUSY);  // libc's would say 0
      EXPECT_EQ(balrog_pthread_mutex_lock(&r.m), 0);
      got = true;
      EXPECT_EQ(balrog_pthread_mutex_unlock(&r.m), 0);
    });
    balrog::this_fiber::sleep_for(10ms);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&r.m), 0);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&r.m), 0);
    EXPECT_FALSE(got);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&r.m), 0);
    other.join();
    EXPECT_TRUE(got);
  });
}

TEST(PthreadTwins, ThreadsAndUnrewrittenCodeStillExclude) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  // A plain thread holds it through libc (code not rewritten) and unlocks through libc: the
  // fiber notices (retry slice) and takes it. The holder locks and unlocks it itself (a
  // normal mutex unlocked by another thread is undefined, and TSan says so).
  std::atomic<bool> held{false};
  std::atomic<bool> go{false};
  std::atomic<bool> released{false};
  std::thread holder([&] {
    pthread_mutex_lock(&m);
    held = true;
    while (!go) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(30ms);
    released = true;
    pthread_mutex_unlock(&m);
  });
  while (!held) std::this_thread::sleep_for(1ms);
  balrog::run([&] {
    ticker t;
    go = true;
    EXPECT_EQ(balrog_pthread_mutex_lock(&m), 0);
    EXPECT_TRUE(released);
    EXPECT_GE(t.stop(), enough_ticks(30ms));
    // Held by the fiber: a plain thread's lock (twin, off a fiber: libc's) waits for it.
    std::atomic<bool> thread_got{false};
    std::thread other([&] {
      EXPECT_EQ(balrog_pthread_mutex_lock(&m), 0);
      thread_got = true;
      EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
    });
    balrog::this_fiber::sleep_for(20ms);
    EXPECT_FALSE(thread_got);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
    other.join();
    EXPECT_TRUE(thread_got);
  });
  holder.join();
}

TEST(PthreadTwins, ConditionVariablesWakeFibers) {
  balrog::run([] {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    int ready = 0;
    int woke = 0;
    std::vector<balrog::fiber<void>> waiters;
    for (int i = 0; i < 5; ++i) {
      waiters.push_back(balrog::spawn([&] {
        EXPECT_EQ(balrog_pthread_mutex_lock(&m), 0);
        while (ready == 0) EXPECT_EQ(balrog_pthread_cond_wait(&c, &m), 0);
        ++woke;
        EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
      }));
    }
    // Every waiter reaches its cond_wait before the ticker starts: a fiber's first switch is
    // slow under TSan (it creates the fiber's TSan state, ~5 ms each on a slow VM), and five of
    // them would eat the ticker's 20 ms. A cond_wait that blocked the thread would hang here.
    balrog::this_fiber::yield();
    {
      ticker t;
      balrog::this_fiber::sleep_for(20ms);
      EXPECT_GE(t.stop(), enough_ticks(20ms));
    }
    EXPECT_EQ(balrog_pthread_mutex_lock(&m), 0);
    EXPECT_EQ(woke, 0);
    ready = 1;
    EXPECT_EQ(balrog_pthread_cond_broadcast(&c), 0);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
    for (auto& w : waiters) w.join();
    EXPECT_EQ(woke, 5);
  });
}

TEST(PthreadTwins, SignalFromAPlainThreadReachesAFiber) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  bool ready = false;
  std::thread signaller;
  balrog::run([&] {
    signaller = std::thread([&] {
      std::this_thread::sleep_for(20ms);
      balrog_pthread_mutex_lock(&m);
      ready = true;
      balrog_pthread_cond_signal(&c);
      balrog_pthread_mutex_unlock(&m);
    });
    EXPECT_EQ(balrog_pthread_mutex_lock(&m), 0);
    while (!ready) EXPECT_EQ(balrog_pthread_cond_wait(&c, &m), 0);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
  });
  signaller.join();
}

TEST(PthreadTwins, TimedWaitsHonourTheClock) {
  balrog::run([] {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t realtime = PTHREAD_COND_INITIALIZER;
    pthread_cond_t monotonic;
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&monotonic, &a);
    pthread_condattr_destroy(&a);
    ASSERT_EQ(balrog_pthread_mutex_lock(&m), 0);
    for (auto [cond, clock] :
         {std::pair{&realtime, CLOCK_REALTIME}, std::pair{&monotonic, CLOCK_MONOTONIC}}) {
      const auto start = std::chrono::steady_clock::now();
      const timespec until = after(clock, 40ms);
      int rc = 0;
      while (rc == 0) rc = balrog_pthread_cond_timedwait(cond, &m, &until);
      const auto waited = std::chrono::steady_clock::now() - start;
      EXPECT_EQ(rc, ETIMEDOUT);
      EXPECT_GE(waited, 39ms);
      EXPECT_LT(waited, 5s);
    }
    const timespec until = after(CLOCK_MONOTONIC, 20ms);
    int rc = 0;
    while (rc == 0) rc = balrog_pthread_cond_clockwait(&realtime, &m, CLOCK_MONOTONIC, &until);
    EXPECT_EQ(rc, ETIMEDOUT);
    // Still the holder after a timed-out wait.
    EXPECT_EQ(balrog_pthread_mutex_lock(&m), EDEADLK);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
    timespec bad{0, 2000000000L};
    // An invalid time: EINVAL only when the lock would wait (libc's rule); taken, it is held.
    EXPECT_EQ(balrog_pthread_mutex_timedlock(&m, &bad), 0);
    balrog::spawn([&] { EXPECT_EQ(balrog_pthread_mutex_timedlock(&m, &bad), EINVAL); }).join();
    EXPECT_EQ(balrog_pthread_cond_timedwait(&realtime, &m, &bad), EINVAL);
    EXPECT_EQ(balrog_pthread_mutex_unlock(&m), 0);
    pthread_cond_destroy(&monotonic);
  });
}
