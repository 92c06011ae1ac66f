// White-box: a finishing fiber wakes its joiners after releasing its join lock (S in the
// runtime review: a wake is a queue push, an eventfd write or a futex wake, too much for a
// spinlock that promises "a few instructions").
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/this_fiber.hpp"
#include "core/fiber/joinable.hpp"
#include "core/shard/scheduler.hpp"

namespace {

using balrog::detail::execution_context;
using balrog::detail::joinable_context;

// A joiner that records, when a waker makes it runnable, whether the join lock was held.
struct lock_probe final : execution_context {
  joinable_context* j = nullptr;
  bool woken = false;
  bool lock_was_held = false;
  [[nodiscard]] bool is_fiber() const noexcept override { return false; }
  void park(balrog::deadline, balrog::detail::wake_reason) override {}
  void unpark() noexcept override {
    woken = true;
    if (j->join_lock.try_lock()) {
      j->join_lock.unlock();
    } else {
      lock_was_held = true;
    }
  }
};

// More joiners than finish() claims in one batch (16), so later batches are covered too.
constexpr std::size_t probes = 40;

}  // namespace

TEST(JoinLock, FinishWakesEveryJoinerAfterReleasingTheLock) {
  balrog::run([] {
    balrog::event go;
    joinable_context* target = nullptr;
    auto f = balrog::spawn([&] {
      target = balrog::detail::scheduler::current()->running();
      go.wait();
    });
    balrog::this_fiber::yield();  // f runs until it waits
    ASSERT_NE(target, nullptr);
    std::vector<std::unique_ptr<lock_probe>> ctx;
    std::vector<std::unique_ptr<balrog::detail::waiter>> waiters;
    for (std::size_t i = 0; i < probes; ++i) {
      ctx.push_back(std::make_unique<lock_probe>());
      ctx.back()->j = target;
      waiters.push_back(std::make_unique<balrog::detail::waiter>(*ctx.back()));
      std::lock_guard lk(target->join_lock);
      ASSERT_FALSE(target->enter_locked());  // what a joiner under the lock does first
      ctx.back()->prepare_wait();
      target->joiners.push_back(*waiters.back());
    }
    go.set();
    f.join();
    for (std::size_t i = 0; i < probes; ++i) {
      EXPECT_TRUE(ctx[i]->woken) << i;
      EXPECT_FALSE(ctx[i]->lock_was_held) << i;
      EXPECT_FALSE(waiters[i]->linked) << i;
    }
  });
}

TEST(JoinLock, ManyPlainThreadsJoiningOneFiberAreAllWoken) {
  // Plain-thread joiners are woken by the address of their futex word after the unlock; more
  // of them than one batch. (A handle has one owner; the joins here are its inner wait.)
  std::atomic<std::size_t> joined{0};
  balrog::run([&] {
    balrog::event go;
    joinable_context* target = nullptr;
    auto f = balrog::spawn([&] {
      target = balrog::detail::scheduler::current()->running();
      go.wait();
    });
    balrog::this_fiber::yield();
    ASSERT_NE(target, nullptr);
    balrog::detail::retain(target);  // a thread may join after f's handle let go
    std::vector<std::thread> threads;
    std::atomic<std::size_t> started{0};
    for (std::size_t i = 0; i < probes; ++i) {
      threads.emplace_back([&] {
        started.fetch_add(1);
        balrog::detail::join(target);  // what a handle's join does; sync mode: parks the thread
        joined.fetch_add(1);
      });
    }
    while (started.load() < probes) balrog::this_fiber::sleep_for(std::chrono::milliseconds(1));
    balrog::this_fiber::sleep_for(std::chrono::milliseconds(20));  // most of them park
    go.set();
    // f runs and finishes: that wakes the threads. The handle's own join comes last: a fiber
    // joining a fiber of its shard touches the joiner list without the lock (join_handle.cpp's
    // owner-thread path; a handle has one holder), so it must not race these inner waits.
    while (!balrog::detail::finished(target)) {
      balrog::this_fiber::sleep_for(std::chrono::milliseconds(1));
    }
    for (auto& t : threads) t.join();
    f.join();
    balrog::detail::release(target);
  });
  EXPECT_EQ(joined.load(), probes);
}

TEST(JoinLock, ACancelFromAnotherThreadRacingTheFinishOfAFiberJoinedOnItsShard) {
  // The handle's holder joins on the fiber's own shard (no lock; finish() wakes it with plain
  // stores and drops the scheduler's reference with a plain store) while another thread
  // cancels: whichever of the cancel's flag_locked and the finish lands first, the cancel
  // either sees the finish or makes finish() take the lock (and count the reference). TSan and
  // ASan check the rest.
  constexpr int rounds = 300;
  balrog::run([] {
    for (int i = 0; i < rounds; ++i) {
      auto f = balrog::spawn([i] {
        for (int k = 0; k < i % 4; ++k) balrog::this_fiber::yield();
      });
      joinable_context* target = f.context();
      balrog::detail::retain(target);  // the canceller's
      std::thread canceller([target] { balrog::detail::cancel(target); });
      try {
        f.join();
      } catch (const balrog::cancelled&) {
        // the cancel came first and one of its yields threw
      }
      canceller.join();
      balrog::detail::release(target);
    }
  });
}
