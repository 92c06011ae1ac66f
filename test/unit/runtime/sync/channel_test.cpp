// balrog::channel<T> (balrog/sync/channel.hpp).
#include "balrog/sync/channel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
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
using balrog_test::give_thread_time_to_park;
using balrog_test::let_fibers_run;
using balrog_test::run_on_thread;
using balrog_test::spin_until;
using balrog_test::stopwatch;

// ---- buffered -----------------------------------------------------------------------------

TEST(Channel, BufferedFifo) {
  balrog::run([] {
    balrog::channel<int> ch(4);
    EXPECT_EQ(ch.capacity(), 4u);
    EXPECT_EQ(ch.size(), 0u);
    for (int i = 1; i <= 4; ++i) ch.push(i);
    EXPECT_EQ(ch.size(), 4u);
    for (int i = 1; i <= 4; ++i) EXPECT_EQ(ch.pop(), i);
    EXPECT_EQ(ch.size(), 0u);
    EXPECT_FALSE(ch.closed());
  });
}

TEST(Channel, TryPushTryPop) {
  balrog::channel<int> ch(2);  // sync mode: neither call ever waits
  EXPECT_EQ(ch.try_pop(), std::nullopt);
  EXPECT_TRUE(ch.try_push(1));
  EXPECT_TRUE(ch.try_push(2));
  EXPECT_FALSE(ch.try_push(3));
  EXPECT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch.try_pop(), 1);
  EXPECT_TRUE(ch.try_push(3));
  EXPECT_EQ(ch.try_pop(), 2);
  EXPECT_EQ(ch.try_pop(), 3);
  EXPECT_EQ(ch.try_pop(), std::nullopt);
}

TEST(Channel, PushWaitsWhileFull) {
  balrog::run([] {
    balrog::channel<int> ch(2);
    int pushed = 0;
    auto producer = balrog::spawn([&] {
      for (int i = 1; i <= 5; ++i) {
        ch.push(i);
        pushed = i;
      }
    });
    let_fibers_run();
    EXPECT_EQ(pushed, 2);  // the third push waits
    EXPECT_EQ(ch.size(), 2u);
    EXPECT_EQ(ch.pop(), 1);  // refills the buffer from the waiting pusher
    EXPECT_EQ(ch.size(), 2u);
    for (int i = 2; i <= 5; ++i) EXPECT_EQ(ch.pop(), i);
    producer.join();
    EXPECT_EQ(pushed, 5);
  });
}

TEST(Channel, WaitingPushersServedFifo) {
  balrog::run([] {
    balrog::channel<std::string> ch(1);
    ch.push("buffered");
    std::vector<balrog::fiber<void>> pushers;
    for (const char* v : {"a", "b", "c"}) {
      pushers.push_back(balrog::spawn([&ch, v] { ch.push(v); }));
      let_fibers_run();
    }
    EXPECT_EQ(ch.pop(), "buffered");
    EXPECT_EQ(ch.pop(), "a");
    EXPECT_EQ(ch.pop(), "b");
    EXPECT_EQ(ch.pop(), "c");
    for (auto& p : pushers) p.join();
  });
}

TEST(Channel, WaitingPoppersServedFifoAndGetValuesDirectly) {
  balrog::run([] {
    balrog::channel<int> ch(4);
    std::vector<int> got(3, 0);
    std::vector<balrog::fiber<void>> poppers;
    for (int i = 0; i < 3; ++i) {
      poppers.push_back(balrog::spawn([&, i] { got[i] = ch.pop().value(); }));
      let_fibers_run();
    }
    ch.push(10);
    ch.push(20);
    ch.push(30);
    EXPECT_EQ(ch.size(), 0u);  // handed to the waiting poppers, not buffered
    for (auto& p : poppers) p.join();
    EXPECT_EQ(got, (std::vector<int>{10, 20, 30}));
  });
}

TEST(Channel, MoveOnlyValues) {
  balrog::run([] {
    balrog::channel<std::unique_ptr<int>> ch(1);
    auto consumer = balrog::spawn([&] {
      int sum = 0;
      for (auto& p : ch) sum += *p;
      return sum;
    });
    for (int i = 1; i <= 10; ++i) ch.push(std::make_unique<int>(i));
    ch.close();
    EXPECT_EQ(consumer.join(), 55);
  });
}

// ---- rendezvous and unbounded --------------------------------------------------------------

TEST(Channel, RendezvousPushWaitsForAPopper) {
  balrog::run([] {
    balrog::channel<int> ch(0);
    EXPECT_EQ(ch.capacity(), 0u);
    EXPECT_FALSE(ch.try_push(1));  // nobody waits to pop
    bool pushed = false;
    auto pusher = balrog::spawn([&] {
      ch.push(7);
      pushed = true;
    });
    let_fibers_run();
    EXPECT_FALSE(pushed);
    EXPECT_EQ(ch.size(), 0u);
    EXPECT_EQ(ch.pop(), 7);  // straight from the waiting pusher
    pusher.join();
    EXPECT_TRUE(pushed);
  });
}

TEST(Channel, RendezvousHandsToWaitingPopper) {
  balrog::run([] {
    balrog::channel<int> ch(0);
    std::optional<int> got;
    auto popper = balrog::spawn([&] { got = ch.pop(); });
    let_fibers_run();
    EXPECT_TRUE(ch.try_push(5));  // a popper waits: accepted
    popper.join();
    EXPECT_EQ(got, 5);
    // try_pop takes from a waiting pusher.
    auto pusher = balrog::spawn([&] { ch.push(6); });
    let_fibers_run();
    EXPECT_EQ(ch.try_pop(), 6);
    pusher.join();
    EXPECT_EQ(ch.try_pop(), std::nullopt);
  });
}

TEST(Channel, Unbounded) {
  auto ch = balrog::channel<int>::unbounded();
  EXPECT_EQ(ch.capacity(), balrog::channel<int>::unbounded_capacity);
  for (int i = 0; i < 10000; ++i) ch.push(i);  // never waits, even in sync mode
  EXPECT_TRUE(ch.try_push(10000));
  EXPECT_EQ(ch.size(), 10001u);
  for (int i = 0; i <= 10000; ++i) ASSERT_EQ(ch.pop(), i);
}

// ---- try_push moves only on success --------------------------------------------------------

TEST(Channel, TryPushMovesOnlyOnSuccess) {
  balrog::channel<std::unique_ptr<int>> ch(1);
  auto a = std::make_unique<int>(1);
  EXPECT_TRUE(ch.try_push(std::move(a)));
  EXPECT_EQ(a, nullptr);
  auto b = std::make_unique<int>(2);
  EXPECT_FALSE(ch.try_push(std::move(b)));  // full
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(*b, 2);
  ch.close();
  auto c = std::make_unique<int>(3);
  EXPECT_FALSE(ch.try_push(std::move(c)));  // closed
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(**ch.try_pop(), 1);
}

TEST(Channel, TryPushOnRendezvousMovesOnlyOnSuccess) {
  balrog::channel<std::unique_ptr<int>> ch(0);
  auto a = std::make_unique<int>(1);
  EXPECT_FALSE(ch.try_push(std::move(a)));
  ASSERT_NE(a, nullptr);
}

TEST(Channel, TryPushSkipsPopperThatWasCancelledButHasNotRunYet) {
  // Regression: try_push saw a queued popper that its cancellation had already claimed, moved
  // the value out, failed to hand it over, could not buffer it (rendezvous) and still
  // returned true: the value was lost.
  balrog::run([] {
    balrog::channel<std::unique_ptr<int>> ch(0);
    auto popper = balrog::spawn([&] { (void)ch.pop(); });
    let_fibers_run();
    popper.cancel();  // claimed; still linked in the channel until it runs
    auto v = std::make_unique<int>(42);
    EXPECT_FALSE(ch.try_push(std::move(v)));  // nobody can take it
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, 42);
    EXPECT_THROW(popper.join(), balrog::cancelled);
  });
}

TEST(Channel, TryPushSkipsPopperThatTimedOutButHasNotRunYet) {
  // Same as above with a deadline: the popper's timer fires in the same loop turn as the main
  // fiber's (earlier) one, so the main fiber runs first while the popper is claimed by its
  // timeout but still queued.
  balrog::run([] {
    balrog::channel<std::unique_ptr<int>> ch(0);
    const auto t0 = balrog::clock::now();
    auto popper = balrog::spawn([&] { return ch.pop(t0 + 20ms); });
    let_fibers_run();
    auto blocker = balrog::spawn([] {
      std::this_thread::sleep_for(40ms);  // holds the shard past both timers, on purpose
    });
    balrog::this_fiber::sleep_until(t0 + 10ms);
    auto v = std::make_unique<int>(42);
    EXPECT_FALSE(ch.try_push(std::move(v)));
    ASSERT_NE(v, nullptr);
    EXPECT_THROW(popper.join(), balrog::timeout_error);
    blocker.join();
  });
}

// ---- close ----------------------------------------------------------------------------------

TEST(Channel, CloseKeepsQueuedValuesPoppable) {
  balrog::run([] {
    balrog::channel<int> ch(4);
    ch.push(1);
    ch.push(2);
    ch.close();
    EXPECT_TRUE(ch.closed());
    EXPECT_THROW(ch.push(3), balrog::channel_closed);
    EXPECT_FALSE(ch.try_push(3));
    EXPECT_EQ(ch.pop(), 1);
    EXPECT_EQ(ch.try_pop(), 2);
    EXPECT_EQ(ch.pop(), std::nullopt);  // closed and drained: at once
    EXPECT_EQ(ch.try_pop(), std::nullopt);
    ch.close();  // idempotent
    EXPECT_EQ(ch.pop(), std::nullopt);
  });
}

TEST(Channel, CloseWakesWaitingPoppers) {
  balrog::run([] {
    balrog::channel<int> ch(2);
    std::vector<balrog::fiber<std::optional<int>>> poppers;
    for (int i = 0; i < 3; ++i) {
      poppers.push_back(balrog::spawn([&] { return ch.pop(); }));
    }
    let_fibers_run();
    ch.close();
    for (auto& p : poppers) EXPECT_EQ(p.join(), std::nullopt);
  });
}

TEST(Channel, CloseWakesWaitingPushersWithoutQueuingTheirValues) {
  balrog::run([] {
    balrog::channel<int> ch(1);
    ch.push(1);
    std::vector<balrog::fiber<void>> pushers;
    for (int i = 0; i < 3; ++i) {
      pushers.push_back(balrog::spawn([&, i] { ch.push(100 + i); }));
    }
    let_fibers_run();
    ch.close();
    for (auto& p : pushers) EXPECT_THROW(p.join(), balrog::channel_closed);
    EXPECT_EQ(ch.pop(), 1);
    EXPECT_EQ(ch.pop(), std::nullopt);
  });
}

TEST(Channel, CloseWakesRendezvousPusher) {
  balrog::run([] {
    balrog::channel<int> ch(0);
    auto pusher = balrog::spawn([&] { ch.push(1); });
    let_fibers_run();
    ch.close();
    EXPECT_THROW(pusher.join(), balrog::channel_closed);
    EXPECT_EQ(ch.try_pop(), std::nullopt);
  });
}

TEST(Channel, RangeForPopsUntilClosedAndDrained) {
  balrog::run([] {
    balrog::channel<int> ch(3);
    auto producer = balrog::spawn([&] {
      for (int i = 1; i <= 100; ++i) ch.push(i);
      ch.close();
    });
    long sum = 0;
    int n = 0;
    for (int v : ch) {
      sum += v;
      ++n;
    }
    producer.join();
    EXPECT_EQ(n, 100);
    EXPECT_EQ(sum, 5050);
  });
}

TEST(Channel, RangeForOverClosedEmptyChannelIsEmpty) {
  balrog::channel<int> ch(1);
  ch.close();
  int n = 0;
  for (int v : ch) n += v + 1;
  EXPECT_EQ(n, 0);
}

// ---- own deadlines --------------------------------------------------------------------------

TEST(Channel, PopWithDeadlineThrowsTimeoutError) {
  balrog::run([] {
    balrog::channel<int> ch(1);
    stopwatch sw;
    EXPECT_THROW((void)ch.pop(50ms), balrog::timeout_error);
    EXPECT_GE(sw.elapsed(), 45ms);
    sw.restart();
    EXPECT_THROW((void)ch.pop(balrog::clock::now() + 30ms), balrog::timeout_error);
    EXPECT_GE(sw.elapsed(), 25ms);
    EXPECT_LT(sw.elapsed(), 2s);
    // The channel still works: a later push goes to the buffer, not to the dead popper.
    ch.push(1);
    EXPECT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch.pop(), 1);
  });
}

TEST(Channel, PushWithDeadlineThrowsAndDoesNotQueue) {
  balrog::run([] {
    balrog::channel<int> ch(1);
    ch.push(1);
    stopwatch sw;
    EXPECT_THROW(ch.push(2, 50ms), balrog::timeout_error);
    EXPECT_GE(sw.elapsed(), 45ms);
    EXPECT_LT(sw.elapsed(), 2s);
    EXPECT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch.pop(), 1);
    EXPECT_EQ(ch.try_pop(), std::nullopt);  // 2 was never queued
  });
}

TEST(Channel, RendezvousPushWithDeadlineIsNotTakenLater) {
  balrog::run([] {
    balrog::channel<int> ch(0);
    EXPECT_THROW(ch.push(1, 20ms), balrog::timeout_error);
    EXPECT_EQ(ch.try_pop(), std::nullopt);
  });
}

TEST(Channel, PastDeadlineStillSucceedsWhenNoWaitIsNeeded) {
  balrog::run([] {
    balrog::channel<int> ch(1);
    const auto past = balrog::clock::now() - 1s;
    ch.push(1, past);            // room
    EXPECT_EQ(ch.pop(past), 1);  // a value is there
    stopwatch sw;
    EXPECT_THROW((void)ch.pop(past), balrog::timeout_error);  // would have to wait
    ch.push(2);
    EXPECT_THROW(ch.push(3, -1ms), balrog::timeout_error);
    EXPECT_LT(sw.elapsed(), 1s);
    EXPECT_EQ(ch.pop(), 2);
    ch.close();
    EXPECT_EQ(ch.pop(past), std::nullopt);  // closed and drained needs no wait either
    EXPECT_THROW(ch.push(4, past), balrog::channel_closed);
  });
}

TEST(Channel, PastDeadlineRendezvousWithWaitingPartner) {
  balrog::run([] {
    balrog::channel<int> ch(0);
    const auto past = balrog::clock::now() - 1s;
    std::optional<int> got;
    auto popper = balrog::spawn([&] { got = ch.pop(); });
    let_fibers_run();
    ch.push(9, past);  // a popper waits: no wait needed
    popper.join();
    EXPECT_EQ(got, 9);
    auto pusher = balrog::spawn([&] { ch.push(10); });
    let_fibers_run();
    EXPECT_EQ(ch.pop(past), 10);
    pusher.join();
  });
}

TEST(Channel, OwnDeadlineSucceedsWhenPartnerArrivesInTime) {
  balrog::run([] {
    balrog::channel<int> ch(0);
    auto popper = balrog::spawn([&] { return ch.pop(10s); });
    let_fibers_run();
    ch.push(3);
    EXPECT_EQ(popper.join(), 3);
    auto pusher = balrog::spawn([&] { ch.push(4, 10s); });
    let_fibers_run();
    EXPECT_EQ(ch.pop(), 4);
    pusher.join();
  });
}

TEST(Channel, SyncModeDeadlines) {
  balrog::channel<int> ch(1);
  stopwatch sw;
  EXPECT_THROW((void)ch.pop(40ms), balrog::timeout_error);
  EXPECT_GE(sw.elapsed(), 35ms);
  ch.push(1);
  EXPECT_THROW(ch.push(2, 20ms), balrog::timeout_error);
  EXPECT_LT(sw.elapsed(), 2s);
  EXPECT_EQ(ch.pop(-1ms), 1);
}

// ---- deadline_scope -------------------------------------------------------------------------

TEST(Channel, DeadlineScopeThrowsFromPopAndPush) {
  balrog::run([] {
    balrog::channel<int> ch(1);
    {
      balrog::deadline_scope scope(30ms);
      EXPECT_THROW((void)ch.pop(), balrog::timeout_error);
      EXPECT_THROW((void)ch.pop(10s), balrog::timeout_error);
    }
    ch.push(1);
    {
      balrog::deadline_scope scope(30ms);
      EXPECT_THROW(ch.push(2), balrog::timeout_error);
    }
    {
      balrog::deadline_scope scope(-1ms);  // past, but no wait needed
      EXPECT_EQ(ch.pop(), 1);
      ch.push(3);
    }
    EXPECT_EQ(ch.pop(), 3);
    EXPECT_EQ(ch.try_pop(), std::nullopt);
  });
}

TEST(Channel, TimedOutPopperDoesNotSwallowALaterValue) {
  balrog::run([] {
    balrog::channel<int> ch(0);
    auto doomed = balrog::spawn([&] {
      balrog::deadline_scope scope(20ms);
      return ch.pop();
    });
    EXPECT_THROW(doomed.join(), balrog::timeout_error);
    auto popper = balrog::spawn([&] { return ch.pop(); });
    let_fibers_run();
    ch.push(5);
    EXPECT_EQ(popper.join(), 5);
  });
}

// ---- cancellation ---------------------------------------------------------------------------

TEST(Channel, CancelWaitingPopperValueGoesToTheNext) {
  balrog::run([] {
    balrog::channel<int> ch(1);
    auto doomed = balrog::spawn([&] { return ch.pop(); });
    let_fibers_run();
    auto next = balrog::spawn([&] { return ch.pop(); });
    let_fibers_run();
    doomed.cancel();
    ch.push(8);  // before the cancelled popper ran: must skip it
    EXPECT_THROW(doomed.join(), balrog::cancelled);
    EXPECT_EQ(next.join(), 8);
  });
}

TEST(Channel, CancelWaitingPusherValueNotQueued) {
  balrog::run([] {
    balrog::channel<int> ch(1);
    ch.push(1);
    auto doomed = balrog::spawn([&] { ch.push(2); });
    let_fibers_run();
    auto next = balrog::spawn([&] { ch.push(3); });
    let_fibers_run();
    doomed.cancel();
    EXPECT_EQ(ch.pop(), 1);  // refills from `next`, skipping the cancelled pusher
    EXPECT_THROW(doomed.join(), balrog::cancelled);
    next.join();
    EXPECT_EQ(ch.pop(), 3);
    EXPECT_EQ(ch.try_pop(), std::nullopt);
  });
}

TEST(Channel, CancellationIsStickyAndShieldSuppressesIt) {
  balrog::run([] {
    balrog::channel<int> ch(0);
    int thrown = 0;
    std::optional<int> shielded;
    auto f = balrog::spawn([&] {
      for (int i = 0; i < 2; ++i) {
        try {
          (void)ch.pop();
        } catch (const balrog::cancelled&) {
          ++thrown;
        }
      }
      try {
        ch.push(0);
      } catch (const balrog::cancelled&) {
        ++thrown;
      }
      balrog::this_fiber::cancellation_shield shield;
      shielded = ch.pop();
    });
    let_fibers_run();
    f.cancel();
    let_fibers_run();
    EXPECT_EQ(thrown, 3);
    EXPECT_FALSE(shielded.has_value());
    ch.push(11);
    f.join();
    EXPECT_EQ(shielded, 11);
  });
}

// ---- sync mode and cross-thread ------------------------------------------------------------

TEST(Channel, SyncModeBetweenPlainThreads) {
  balrog::channel<int> ch(2);
  std::thread producer([&] {
    for (int i = 1; i <= 1000; ++i) ch.push(i);
    ch.close();
  });
  long sum = 0;
  for (int v : ch) sum += v;
  producer.join();
  EXPECT_EQ(sum, 1000L * 1001 / 2);
}

TEST(Channel, SyncModePopBlocksThePlainThread) {
  balrog::channel<int> ch(0);
  std::atomic<int> got{0};
  std::thread t([&] { got = ch.pop().value_or(-1); });
  give_thread_time_to_park();
  EXPECT_EQ(got.load(), 0);
  ch.push(5);  // rendezvous with the parked thread
  t.join();
  EXPECT_EQ(got.load(), 5);
}

TEST(Channel, FiberAndPlainThread) {
  balrog::channel<int> to_fiber(0);
  balrog::channel<int> to_thread(0);
  std::thread t([&] {
    for (int v : to_thread) to_fiber.push(v * 2);
    to_fiber.close();
  });
  std::vector<int> got;
  balrog::run([&] {
    auto reader = balrog::spawn([&] {
      for (int v : to_fiber) got.push_back(v);
    });
    for (int i = 1; i <= 50; ++i) to_thread.push(i);
    to_thread.close();
    reader.join();
  });
  t.join();
  ASSERT_EQ(got.size(), 50u);
  for (int i = 1; i <= 50; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i - 1)], 2 * i);
}

TEST(Channel, CloseFromAnotherThreadWakesFibers) {
  balrog::channel<int> ch(0);
  std::atomic<bool> parked{false};
  std::thread closer([&] {
    while (!parked) std::this_thread::yield();
    ch.close();
  });
  balrog::channel<int> full(1);
  full.push(0);
  std::thread closer2([&] {
    while (!parked) std::this_thread::yield();
    full.close();
  });
  balrog::run([&] {
    auto popper = balrog::spawn([&] { return ch.pop(); });
    auto pusher = balrog::spawn([&] { full.push(1); });
    let_fibers_run();
    parked = true;
    EXPECT_EQ(popper.join(), std::nullopt);
    EXPECT_THROW(pusher.join(), balrog::channel_closed);
  });
  closer.join();
  closer2.join();
}

TEST(Channel, StressProducersAndConsumersOnTwoShards) {
  // 4 producers and 4 consumers, two of each on each of two shards, over a small channel.
  balrog::channel<int> ch(4);
  constexpr int per_producer = 2000;
  std::atomic<int> producers_left{4};
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  auto shard = [&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int p = 0; p < 2; ++p) {
      fibers.push_back(balrog::spawn([&] {
        for (int i = 1; i <= per_producer; ++i) ch.push(i);
        if (--producers_left == 0) ch.close();
      }));
      fibers.push_back(balrog::spawn([&] {
        for (int v : ch) {
          sum += v;
          ++count;
        }
      }));
    }
    for (auto& f : fibers) f.join();
  };
  auto a = run_on_thread(shard);
  auto b = run_on_thread(shard);
  a.get();
  b.get();
  EXPECT_EQ(count.load(), 4 * per_producer);
  EXPECT_EQ(sum.load(), 4L * per_producer * (per_producer + 1) / 2);
}

TEST(Channel, StressRendezvousBetweenShardsPreservesPerProducerOrder) {
  balrog::channel<std::pair<int, int>> ch(0);
  constexpr int per_producer = 500;
  auto producers = run_on_thread([&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int p = 0; p < 3; ++p) {
      fibers.push_back(balrog::spawn([&, p] {
        for (int i = 0; i < per_producer; ++i) ch.push({p, i});
      }));
    }
    for (auto& f : fibers) f.join();
    ch.close();
  });
  std::vector<int> next(3, 0);
  bool in_order = true;
  int n = 0;
  balrog::run([&] {
    for (auto [p, i] : ch) {
      if (next[static_cast<std::size_t>(p)] != i) in_order = false;
      next[static_cast<std::size_t>(p)] = i + 1;
      ++n;
    }
  });
  producers.get();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(n, 3 * per_producer);
}

TEST(Channel, StressTimedPushPopConserveValues) {
  // Pushes and pops with very short deadlines on a rendezvous channel, across two shards:
  // every push that returned was received exactly once; every push that threw was not.
  balrog::channel<int> ch(0);
  std::atomic<long> sent_sum{0};
  std::atomic<long> received_sum{0};
  std::atomic<int> sent{0};
  std::atomic<int> received{0};
  std::atomic<int> producers_left{4};
  auto shard = [&](int base) {
    return [&, base] {
      std::vector<balrog::fiber<void>> fibers;
      for (int p = 0; p < 2; ++p) {
        fibers.push_back(balrog::spawn([&, p] {
          for (int i = 1; i <= 1500; ++i) {
            const int v = base + p * 2000 + i;
            try {
              if (i % 5 == 0) {
                if (!ch.try_push(v)) continue;
              } else {
                ch.push(v, std::chrono::microseconds(i % 4 * 60));
              }
              sent_sum += v;
              ++sent;
            } catch (const balrog::timeout_error&) {
            }
          }
          if (--producers_left == 0) ch.close();
        }));
        fibers.push_back(balrog::spawn([&, p] {
          for (int i = 0;; ++i) {
            try {
              std::optional<int> v =
                  (i + p) % 3 == 0 ? ch.pop() : ch.pop(std::chrono::microseconds(i % 5 * 50));
              if (!v) return;
              received_sum += *v;
              ++received;
            } catch (const balrog::timeout_error&) {
            }
          }
        }));
      }
      for (auto& f : fibers) f.join();
    };
  };
  auto a = balrog_test::run_on_thread(shard(10000));
  auto b = balrog_test::run_on_thread(shard(20000));
  a.get();
  b.get();
  EXPECT_GT(sent.load(), 0);
  EXPECT_EQ(received.load(), sent.load());
  EXPECT_EQ(received_sum.load(), sent_sum.load());
}

}  // namespace
