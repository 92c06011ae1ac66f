// balrog::shared_mutex (balrog/sync/shared_mutex.hpp).
#include "balrog/sync/shared_mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using balrog_test::another_fiber_can_lock;
using balrog_test::give_thread_time_to_park;
using balrog_test::let_fibers_run;
using balrog_test::run_on_thread;
using balrog_test::spin_until;
using balrog_test::stopwatch;

// ---- fibers -------------------------------------------------------------------------------

TEST(SharedMutex, ReadersShareWritersExclude) {
  balrog::run([] {
    balrog::shared_mutex m;
    int readers = 0;
    int max_readers = 0;
    int writers = 0;
    bool overlap = false;
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 4; ++i) {
      fibers.push_back(balrog::spawn([&] {
        for (int k = 0; k < 10; ++k) {
          std::shared_lock lk(m);
          ++readers;
          max_readers = std::max(max_readers, readers);
          if (writers != 0) overlap = true;
          balrog::this_fiber::yield();
          --readers;
        }
      }));
    }
    for (int i = 0; i < 2; ++i) {
      fibers.push_back(balrog::spawn([&] {
        for (int k = 0; k < 10; ++k) {
          std::unique_lock lk(m);
          ++writers;
          if (writers != 1 || readers != 0) overlap = true;
          balrog::this_fiber::yield();
          --writers;
        }
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_FALSE(overlap);
    EXPECT_GT(max_readers, 1);  // readers really were inside together
  });
}

TEST(SharedMutex, TryLockAndTryLockShared) {
  balrog::run([] {
    balrog::shared_mutex m;
    ASSERT_TRUE(m.try_lock_shared());
    ASSERT_TRUE(m.try_lock_shared());
    EXPECT_FALSE(m.try_lock());
    m.unlock_shared();
    EXPECT_FALSE(m.try_lock());
    m.unlock_shared();
    ASSERT_TRUE(m.try_lock());
    EXPECT_FALSE(m.try_lock_shared());
    EXPECT_FALSE(balrog::spawn([&] { return m.try_lock(); }).join());
    m.unlock();
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, WaitingWriterBlocksNewReaders) {
  balrog::run([] {
    balrog::shared_mutex m;
    std::vector<std::string> log;
    m.lock_shared();  // reader R0 (this fiber)
    auto w = balrog::spawn([&] {
      m.lock();
      log.push_back("W");
      balrog::this_fiber::yield();
      m.unlock();
    });
    let_fibers_run();
    EXPECT_FALSE(m.try_lock_shared());  // a writer waits: no new readers, even try_
    auto r = balrog::spawn([&] {
      m.lock_shared();
      log.push_back("R");
      m.unlock_shared();
    });
    let_fibers_run();
    EXPECT_TRUE(log.empty());
    m.unlock_shared();  // last reader out: the writer goes first
    w.join();
    r.join();
    EXPECT_EQ(log, (std::vector<std::string>{"W", "R"}));
  });
}

TEST(SharedMutex, WriterUnlockAdmitsAllWaitingReadersBeforeNextWriter) {
  balrog::run([] {
    balrog::shared_mutex m;
    std::vector<std::string> log;
    m.lock();  // writer W0 (this fiber)
    std::vector<balrog::fiber<void>> fibers;
    auto reader = [&](std::string name) {
      return balrog::spawn([&, name] {
        m.lock_shared();
        log.push_back(name);
        balrog::this_fiber::yield();
        m.unlock_shared();
      });
    };
    fibers.push_back(reader("R1"));
    let_fibers_run();
    fibers.push_back(balrog::spawn([&] {
      m.lock();
      log.push_back("W2");
      m.unlock();
    }));
    let_fibers_run();
    fibers.push_back(reader("R2"));
    let_fibers_run();
    m.unlock();
    for (auto& f : fibers) f.join();
    // Readers that waited when W0 unlocked go first, even R2 which arrived after W2.
    EXPECT_EQ(log, (std::vector<std::string>{"R1", "R2", "W2"}));
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, WritersAreServedFifo) {
  balrog::run([] {
    balrog::shared_mutex m;
    std::vector<int> order;
    m.lock();
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 4; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        std::unique_lock lk(m);
        order.push_back(i);
        balrog::this_fiber::yield();
      }));
      let_fibers_run();
    }
    m.unlock();
    for (auto& f : fibers) f.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  });
}

TEST(SharedMutex, WorksWithStdLocks) {
  balrog::run([] {
    balrog::shared_mutex m;
    {
      std::shared_lock a(m);
      std::shared_lock b(m, std::try_to_lock);
      EXPECT_TRUE(b.owns_lock());
      std::unique_lock w(m, std::try_to_lock);
      EXPECT_FALSE(w.owns_lock());
    }
    std::unique_lock w(m, 10ms);
    EXPECT_TRUE(w.owns_lock());
    w.unlock();
    std::shared_lock r(m, 10ms);
    EXPECT_TRUE(r.owns_lock());
  });
}

// ---- sync mode and cross-thread ------------------------------------------------------------

TEST(SharedMutex, SyncModeReaderBlocksOnWriter) {
  balrog::shared_mutex m;
  std::atomic<bool> acquired{false};
  m.lock();
  std::thread t([&] {
    m.lock_shared();
    acquired = true;
    m.unlock_shared();
  });
  give_thread_time_to_park();
  EXPECT_FALSE(acquired.load());
  m.unlock();
  t.join();
  EXPECT_TRUE(acquired.load());
}

TEST(SharedMutex, SyncModeWriterBlocksOnReaders) {
  balrog::shared_mutex m;
  std::atomic<bool> acquired{false};
  m.lock_shared();
  std::thread t([&] {
    m.lock();
    acquired = true;
    m.unlock();
  });
  give_thread_time_to_park();
  EXPECT_FALSE(acquired.load());
  m.unlock_shared();
  t.join();
  EXPECT_TRUE(acquired.load());
}

TEST(SharedMutex, FiberAndPlainThread) {
  balrog::shared_mutex m;
  std::atomic<bool> thread_reads{false};
  std::atomic<bool> fiber_parked{false};
  std::atomic<bool> fiber_got_it{false};
  std::thread reader([&] {
    m.lock_shared();
    thread_reads = true;
    while (!fiber_parked) std::this_thread::yield();
    EXPECT_FALSE(fiber_got_it.load());
    m.unlock_shared();  // wakes the fiber's lock() on the other thread
  });
  balrog::run([&] {
    ASSERT_TRUE(spin_until([&] { return thread_reads.load(); }));
    auto w = balrog::spawn([&] {
      m.lock();
      fiber_got_it = true;
      m.unlock();
    });
    let_fibers_run();
    fiber_parked = true;
    w.join();
  });
  reader.join();
  EXPECT_TRUE(fiber_got_it.load());
}

TEST(SharedMutex, ReadersAndWritersOnTwoShards) {
  balrog::shared_mutex m;
  long a = 0;
  long b = 0;  // writers keep a == b; readers check it
  std::atomic<bool> torn{false};
  auto shard = [&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 2; ++i) {
      fibers.push_back(balrog::spawn([&] {
        for (int k = 0; k < 100; ++k) {
          std::unique_lock lk(m);
          ++a;
          balrog::this_fiber::yield();
          ++b;
        }
      }));
      fibers.push_back(balrog::spawn([&] {
        for (int k = 0; k < 100; ++k) {
          std::shared_lock lk(m);
          const long seen = a;
          balrog::this_fiber::yield();
          if (seen != b || a != b) torn = true;
        }
      }));
    }
    for (auto& f : fibers) f.join();
  };
  auto s1 = run_on_thread(shard);
  auto s2 = run_on_thread(shard);
  s1.get();
  s2.get();
  EXPECT_FALSE(torn.load());
  EXPECT_EQ(a, 2 * 2 * 100);
  EXPECT_EQ(b, a);
}

// ---- own timeouts ---------------------------------------------------------------------------

TEST(SharedMutex, TimedLocksTimeOut) {
  balrog::run([] {
    balrog::shared_mutex m;
    m.lock_shared();
    auto w = balrog::spawn([&] {
      stopwatch sw;
      EXPECT_FALSE(m.try_lock_for(50ms));
      EXPECT_GE(sw.elapsed(), 45ms);
      sw.restart();
      EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() + 30ms));
      EXPECT_GE(sw.elapsed(), 25ms);
      EXPECT_LT(sw.elapsed(), 2s);
    });
    w.join();
    m.unlock_shared();
    m.lock();
    auto r = balrog::spawn([&] {
      stopwatch sw;
      EXPECT_FALSE(m.try_lock_shared_for(50ms));
      EXPECT_GE(sw.elapsed(), 45ms);
      sw.restart();
      EXPECT_FALSE(m.try_lock_shared_until(std::chrono::steady_clock::now() + 30ms));
      EXPECT_GE(sw.elapsed(), 25ms);
      EXPECT_LT(sw.elapsed(), 2s);
    });
    r.join();
    m.unlock();
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, PastDeadlineStillTakesAFreeLock) {
  balrog::run([] {
    balrog::shared_mutex m;
    EXPECT_TRUE(m.try_lock_for(0ms));
    m.unlock();
    EXPECT_TRUE(m.try_lock_until(std::chrono::steady_clock::now() - 1s));
    m.unlock();
    EXPECT_TRUE(m.try_lock_shared_for(-1ms));
    EXPECT_TRUE(m.try_lock_shared_until(std::chrono::steady_clock::now() - 1s));
    m.unlock_shared();
    m.unlock_shared();
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, TimedLocksSucceedWhenReleasedInTime) {
  balrog::run([] {
    balrog::shared_mutex m;
    m.lock();
    auto r = balrog::spawn([&] {
      const bool ok = m.try_lock_shared_for(5s);
      if (ok) m.unlock_shared();
      return ok;
    });
    auto w = balrog::spawn([&] {
      const bool ok = m.try_lock_for(5s);
      if (ok) m.unlock();
      return ok;
    });
    let_fibers_run();
    m.unlock();
    EXPECT_TRUE(r.join());
    EXPECT_TRUE(w.join());
  });
}

TEST(SharedMutex, WriterThatTimesOutLetsQueuedReadersIn) {
  balrog::run([] {
    balrog::shared_mutex m;
    m.lock_shared();  // R0 holds (this fiber) throughout
    auto w = balrog::spawn([&] { return m.try_lock_for(40ms); });
    let_fibers_run();
    bool r_in = false;
    auto r = balrog::spawn([&] {
      m.lock_shared();  // queues behind the writer
      r_in = true;
      m.unlock_shared();
    });
    let_fibers_run();
    EXPECT_FALSE(r_in);
    EXPECT_FALSE(w.join());  // gave up...
    r.join();                // ...and the reader got in while R0 still reads
    EXPECT_TRUE(r_in);
    m.unlock_shared();
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, SyncModeTimedLocks) {
  balrog::shared_mutex m;
  m.lock();
  std::thread t([&] {
    stopwatch sw;
    EXPECT_FALSE(m.try_lock_shared_for(40ms));
    EXPECT_FALSE(m.try_lock_for(0ms));
    EXPECT_GE(sw.elapsed(), 35ms);
    EXPECT_LT(sw.elapsed(), 2s);
  });
  t.join();
  m.unlock();
  EXPECT_TRUE(m.try_lock_for(-1ms));
  m.unlock();
}

// ---- deadline_scope -------------------------------------------------------------------------

TEST(SharedMutex, DeadlineScopeTimesOutWriterAndQueuedReadersGetIn) {
  balrog::run([] {
    balrog::shared_mutex m;
    m.lock_shared();
    auto w = balrog::spawn([&] {
      balrog::deadline_scope scope(40ms);
      m.lock();
    });
    let_fibers_run();
    bool r_in = false;
    auto r = balrog::spawn([&] {
      std::shared_lock lk(m);
      r_in = true;
    });
    let_fibers_run();
    EXPECT_THROW(w.join(), balrog::timeout_error);
    r.join();
    EXPECT_TRUE(r_in);
    m.unlock_shared();
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, DeadlineScopeTimesOutReaderAndCountIsNotLeaked) {
  balrog::run([] {
    balrog::shared_mutex m;
    m.lock();
    auto r = balrog::spawn([&] {
      balrog::deadline_scope scope(30ms);
      m.lock_shared();
    });
    EXPECT_THROW(r.join(), balrog::timeout_error);
    m.unlock();
    EXPECT_TRUE(another_fiber_can_lock(m));  // no phantom reader holds it
  });
}

TEST(SharedMutex, ExpiredDeadlineScopeStillTakesAFreeLock) {
  balrog::run([] {
    balrog::shared_mutex m;
    balrog::deadline_scope scope(-1ms);
    m.lock();
    m.unlock();
    m.lock_shared();
    m.unlock_shared();
  });
}

// ---- cancellation ---------------------------------------------------------------------------

TEST(SharedMutex, CancelWaitingWriterLetsQueuedReadersIn) {
  balrog::run([] {
    balrog::shared_mutex m;
    m.lock_shared();
    auto w = balrog::spawn([&] { m.lock(); });
    let_fibers_run();
    bool r_in = false;
    auto r = balrog::spawn([&] {
      std::shared_lock lk(m);
      r_in = true;
    });
    let_fibers_run();
    EXPECT_FALSE(r_in);
    w.cancel();
    EXPECT_THROW(w.join(), balrog::cancelled);
    r.join();
    EXPECT_TRUE(r_in);
    m.unlock_shared();
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, CancelWaitingReader) {
  balrog::run([] {
    balrog::shared_mutex m;
    m.lock();
    auto r = balrog::spawn([&] { m.lock_shared(); });
    let_fibers_run();
    bool r2_in = false;
    auto r2 = balrog::spawn([&] {
      std::shared_lock lk(m);
      r2_in = true;
    });
    let_fibers_run();
    r.cancel();
    EXPECT_THROW(r.join(), balrog::cancelled);
    m.unlock();
    r2.join();
    EXPECT_TRUE(r2_in);
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, LastReaderLeavesWhileCancelledWriterHasNotRunYet) {
  // The writer is claimed by its cancellation, then the last reader unlocks before the writer
  // runs: the unlock must skip the writer, and the writer on its way out lets the queued
  // reader in.
  balrog::run([] {
    balrog::shared_mutex m;
    m.lock_shared();
    auto w = balrog::spawn([&] { m.lock(); });
    let_fibers_run();
    bool r_in = false;
    auto r = balrog::spawn([&] {
      std::shared_lock lk(m);
      r_in = true;
    });
    let_fibers_run();
    w.cancel();         // claimed, not yet run
    m.unlock_shared();  // finds no writer to admit
    EXPECT_THROW(w.join(), balrog::cancelled);
    r.join();
    EXPECT_TRUE(r_in);
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

TEST(SharedMutex, CancellationIsStickyAndShieldSuppressesIt) {
  balrog::run([] {
    balrog::shared_mutex m;
    int thrown = 0;
    bool shielded = false;
    m.lock();
    auto f = balrog::spawn([&] {
      for (int i = 0; i < 2; ++i) {
        try {
          m.lock_shared();
        } catch (const balrog::cancelled&) {
          ++thrown;
        }
      }
      balrog::this_fiber::cancellation_shield shield;
      m.lock_shared();
      shielded = true;
      m.unlock_shared();
    });
    let_fibers_run();
    f.cancel();
    let_fibers_run();
    EXPECT_EQ(thrown, 2);
    EXPECT_FALSE(shielded);
    m.unlock();
    f.join();  // ended normally: no suspension after the shield
    EXPECT_TRUE(shielded);
    EXPECT_TRUE(another_fiber_can_lock(m));
  });
}

// ---- documented assertions ------------------------------------------------------------------

TEST(SharedMutexDeathTest, UnlockWithoutLockAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        balrog::shared_mutex m;
        m.unlock();
      },
      "balrog::shared_mutex::unlock: the caller does not hold it exclusively");
}

TEST(SharedMutexDeathTest, UnlockWhileHeldSharedAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        balrog::shared_mutex m;
        m.lock_shared();
        m.unlock();
      },
      "balrog::shared_mutex::unlock: the caller does not hold it exclusively");
}

TEST(SharedMutexDeathTest, UnlockSharedWithoutReaderAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        balrog::shared_mutex m;
        m.unlock_shared();
      },
      "balrog::shared_mutex::unlock_shared: no reader holds it");
}

TEST(SharedMutexDeathTest, UnlockSharedWhileHeldExclusivelyAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        balrog::shared_mutex m;
        m.lock();
        m.unlock_shared();
      },
      "balrog::shared_mutex::unlock_shared");
}

TEST(SharedMutexDeathTest, UnlockByAnotherFiberAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run([] {
                 balrog::shared_mutex m;
                 m.lock();
                 balrog::spawn([&] { m.unlock(); }).join();
               }),
               "balrog::shared_mutex::unlock");
}

TEST(SharedMutex, StressTimedLocksAcrossShards) {
  // Readers and writers with very short timeouts on two shards: writer timeouts race with the
  // admission of readers. Exclusion must hold and the lock must end up free.
  balrog::shared_mutex m;
  std::atomic<int> readers{0};
  std::atomic<int> writers{0};
  std::atomic<bool> broken{false};
  auto shard = [&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 3; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        for (int k = 0; k < 300; ++k) {
          if (m.try_lock_for(std::chrono::microseconds((k + i) % 4 * 50))) {
            if (writers.fetch_add(1) != 0 || readers.load() != 0) broken = true;
            if (k % 4 == 0) balrog::this_fiber::yield();
            writers.fetch_sub(1);
            m.unlock();
          }
        }
      }));
      fibers.push_back(balrog::spawn([&, i] {
        for (int k = 0; k < 300; ++k) {
          if (m.try_lock_shared_for(std::chrono::microseconds((k + i) % 3 * 50))) {
            readers.fetch_add(1);
            if (writers.load() != 0) broken = true;
            if (k % 2 == 0) balrog::this_fiber::yield();
            readers.fetch_sub(1);
            m.unlock_shared();
          }
        }
      }));
    }
    for (auto& f : fibers) f.join();
  };
  auto a = balrog_test::run_on_thread(shard);
  auto b = balrog_test::run_on_thread(shard);
  a.get();
  b.get();
  EXPECT_FALSE(broken.load());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
  EXPECT_TRUE(m.try_lock_shared());
  m.unlock_shared();
}

}  // namespace
