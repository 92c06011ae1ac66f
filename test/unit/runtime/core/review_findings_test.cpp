// The runtime review's low findings (../shared/reviews/runtime.md, docs/architecture.md "The
// runtime review's findings") that had no test of their own: L, N, O, Q, and G's dense-stack
// stack-pointer check. Each test fails while its finding holds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/offload.hpp"
#include "balrog/run.hpp"
#include "balrog/sleep.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "core/fiber/fiber_context.hpp"
#include "core/shard/scheduler.hpp"
#include "stack/stack_source.hpp"
#include "support/stack_recursion.hpp"

namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t stack_multiplier = 4;  // see runtime/src/stack/stack_source.cpp
#else
constexpr std::size_t stack_multiplier = 1;
#endif

constexpr std::size_t one_gib = std::size_t{1} << 30;

// The running fiber's stack, as the scheduler sees it (white box).
const balrog::detail::stack_facts& running_stack() {
  return balrog::detail::scheduler::current()->running()->stack;
}

using balrog::test::recurse;

}  // namespace

// --- L: a stack_size near SIZE_MAX is clamped, never wrapped to 0 ------------------------------
// Before 8cfc1fd, (SIZE_MAX + page - 1) / page * page wrapped to 0: a guarded stack with no
// usable byte, and a division by zero in the dense pool (slots per slab = bytes / slot size).

TEST(ReviewL, StackSizesNearSizeMaxAreClampedNotWrapped) {
  namespace d = balrog::detail;
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  for (const auto kind : {balrog::stack_kind::guarded, balrog::stack_kind::dense}) {
    for (const std::size_t requested : {max, max - 1, max - 4095, max / 2 + 1}) {
      const std::size_t size = d::normalized_stack_size(kind, requested);
      EXPECT_EQ(size, one_gib * stack_multiplier) << requested;
    }
  }
}

TEST(ReviewL, SpawningWithAStackSizeNearSizeMaxRunsOnAClampedStack) {
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  balrog::run([] {
    for (const auto kind : {balrog::stack_kind::guarded, balrog::stack_kind::dense}) {
      for (const std::size_t requested : {max, max - 4095}) {
        auto f = balrog::spawn(
            [] {
              // 32 KiB of frames: more than a wrapped (0-byte, or minimum) stack would hold.
              const int r = recurse(nullptr, 32);
              return running_stack().size + static_cast<std::size_t>(r & 0);
            },
            {.stack_size = requested, .stack = kind});
        const std::size_t usable = f.join();
        EXPECT_GE(usable, one_gib * stack_multiplier - 4096) << requested;
        EXPECT_LE(usable, one_gib * stack_multiplier) << requested;
      }
    }
  });
}

// --- N: offload in coroutine code refuses before the job exists -------------------------------
// Before 8cfc1fd the job was submitted first and only the wait was refused: fn ran for nothing.

namespace {

balrog::task<int> offload_in_a_coroutine(std::atomic<int>& ran) {
  co_return balrog::offload([&ran] {
    ran.fetch_add(1);
    return 1;
  });
}

}  // namespace

TEST(ReviewN, OffloadInsideATaskIsAUsageErrorAndFnNeverRuns) {
  std::atomic<int> ran{0};
  balrog::run([&] {
    EXPECT_THROW(balrog::spawn_task(offload_in_a_coroutine(ran)).join(), balrog::usage_error);
    EXPECT_THROW(balrog::await(offload_in_a_coroutine(ran)), balrog::usage_error);
    // A job submitted anyway would start on the pool within this time.
    balrog::this_fiber::sleep_for(200ms);
  });
  EXPECT_EQ(ran.load(), 0);
  // The pool itself works: a fiber's offload runs fn.
  balrog::run([&] { EXPECT_EQ(balrog::offload([] { return 7; }), 7); });
}

// --- O: this_fiber::yield (and sleep) in coroutine code is a usage error ------------------------
// Before 8cfc1fd a yield in a task was std::this_thread::yield() (silent), and in a chain under
// balrog::await it yielded the whole awaiting fiber (silent too).

namespace {

balrog::task<void> yields() {
  balrog::this_fiber::yield();
  co_return;
}

balrog::task<void> sleeps_zero() {
  balrog::this_fiber::sleep_for(0ms);  // a past time: a yield
  co_return;
}

balrog::task<void> sleeps() {
  balrog::this_fiber::sleep_for(1ms);
  co_return;
}

}  // namespace

TEST(ReviewO, YieldAndSleepInsideASpawnedTaskAreUsageErrors) {
  balrog::run([] {
    EXPECT_THROW(balrog::spawn_task(yields()).join(), balrog::usage_error);
    EXPECT_THROW(balrog::spawn_task(sleeps_zero()).join(), balrog::usage_error);
    EXPECT_THROW(balrog::spawn_task(sleeps()).join(), balrog::usage_error);
  });
}

TEST(ReviewO, YieldAndSleepInsideAChainUnderAwaitAreUsageErrors) {
  balrog::run([] {
    EXPECT_THROW(balrog::await(yields()), balrog::usage_error);
    EXPECT_THROW(balrog::await(sleeps_zero()), balrog::usage_error);
    EXPECT_THROW(balrog::await(sleeps()), balrog::usage_error);
    balrog::this_fiber::yield();  // the fiber itself still may
  });
  // Sync mode: the chain runs on block_on's fiber, where it is coroutine code all the same.
  EXPECT_THROW(balrog::await(yields()), balrog::usage_error);
  EXPECT_THROW(balrog::await(sleeps_zero()), balrog::usage_error);
}

// --- Q: a stale ready entry of a task does not resume a later, unclaimed wait
// --------------------- The misuse path: a blocking wait inside a task loses its self-claim to a
// waker on another thread; the task's park() is a no-op, so the wait returns while the waker has
// queued the task (unpark). The task then suspends in a real co_await. Before 3e7cbb4 the stale
// entry resumed that wait with consume_wake() of an unclaimed state (waiting - woken_base wraps):
// the sleep below returned at once. Now task_context::step ignores an entry while unclaimed.

namespace {

balrog::task<std::chrono::nanoseconds> stale_entry_then_sleep(std::chrono::milliseconds d) {
  namespace det = balrog::detail;
  det::execution_context& self = det::current_context();
  // The blocking primitive's steps 1-3 (wait_queue.hpp), with the waker's claim landing
  // between publishing and the wait, from another thread: exactly the losing interleaving.
  self.prepare_wait();
  std::thread waker([&self] { EXPECT_TRUE(self.try_wake(det::wake_reason::notified)); });
  waker.join();  // claimed and queued (unpark: the scheduler's remote queue)
  EXPECT_EQ(self.wait(balrog::deadline::never()), det::wake_reason::notified);
  const auto start = balrog::clock::now();
  co_await balrog::sleep_for(d);  // the stale entry is drained while this wait is unclaimed
  co_return balrog::clock::now() - start;
}

}  // namespace

TEST(ReviewQ, AStaleReadyEntryDoesNotResumeALaterUnclaimedWait) {
  balrog::run([] {
    for (int i = 0; i < 20; ++i) {
      const auto slept = balrog::spawn_task(stale_entry_then_sleep(20ms)).join();
      ASSERT_GE(slept, 20ms) << "iteration " << i;
    }
  });
}

// --- G: a dense stack's switch-out compares the stack pointer with the floor ------------------
// A frame that jumps over the 64-byte canary below the slot leaves it intact; only the check
// of the stack pointer against the floor (scheduler::check_canary) then sees the overflow.

namespace {

// Stops about 300 bytes to 1 KiB above `floor` (frames of ~600 bytes), then `then()`.
template <class F>
[[gnu::noinline]] void descend_to(const char* floor, F then) {
  volatile char frame[512];
  std::memset(const_cast<char*>(frame), 1, sizeof frame);
  if (const_cast<const char*>(frame) - floor > 1024) {
    descend_to(floor, then);
  } else {
    then();
  }
  frame[0] = frame[1];
}

// A 2 KiB frame reaching below the floor, whose only write before the switch is at its top
// (above the floor): the canary inside it is skipped, not overwritten. -fstack-clash-protection
// probes pages with `or $0`, which leaves memory as it was.
[[gnu::noinline]] void skip_the_canary_and_switch_out() {
  volatile char gap[2048];
  gap[sizeof gap - 1] = 1;
  balrog::this_fiber::yield();  // switches out with the stack pointer below the floor
  gap[0] = gap[sizeof gap - 1];
}

}  // namespace

using ReviewGDeathTest = testing::Test;

TEST(ReviewGDeathTest, ADenseFrameThatSkipsTheCanaryIsCaughtAtSwitchOut) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run([] {
                 // The only dense fiber: slot 0 of its slab, above the slab's sentinel page,
                 // whose top 64 bytes are its canary; the frames below the floor land in that
                 // page and nowhere else.
                 auto skipper = balrog::spawn(
                     [] {
                       const char* floor = static_cast<const char*>(running_stack().lowest);
                       descend_to(floor, [] { skip_the_canary_and_switch_out(); });
                     },
                     {.name = "canary-skipper", .stack = balrog::stack_kind::dense});
                 // Ready when the skipper yields, so that its yield switches out (a yield with
                 // nobody else ready returns at once).
                 auto other = balrog::spawn([] {});
                 skipper.join();
                 other.join();
               }),
               "stack overflow in fiber 'canary-skipper'");
}
