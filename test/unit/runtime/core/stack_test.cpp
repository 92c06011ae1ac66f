// Stacks: sizes, kinds, reuse, overflow detection.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "stack/dense_stack_pool.hpp"
#include "support/stack_recursion.hpp"

namespace {

using balrog::test::recurse;

// Uses at least `bytes` of stack below `top`, then calls `then`.
template <class F>
[[gnu::noinline]] void use_stack(const char* top, std::size_t bytes, F then) {
  volatile char frame[512];
  std::memset(const_cast<char*>(frame), 1, sizeof frame);
  if (static_cast<std::size_t>(top - const_cast<const char*>(frame)) < bytes) {
    use_stack(top, bytes, then);
  } else {
    then();
  }
  frame[0] = frame[1];
}

#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t stack_multiplier = 4;  // see runtime/src/stack/stack_source.cpp
#else
constexpr std::size_t stack_multiplier = 1;
#endif

}  // namespace

TEST(Stacks, ALargeStackFitsDeepRecursion) {
  balrog::run([] {
    auto f = balrog::spawn([] { return recurse(nullptr, 2000); }, {.stack_size = 4 << 20});
    f.join();
  });
}

// Stack colouring (scheduler::attach_stack): fibers on default (guarded) stacks do not all run
// their frames at the same page offset, where they would compete for the same cache sets.
[[gnu::noinline]] std::uintptr_t frame_page_offset() {
  return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) % 4096;
}

TEST(Stacks, GuardedStacksStartAtDifferentPageOffsets) {
  balrog::run([] {
    std::vector<balrog::fiber<std::uintptr_t>> fs;
    for (int i = 0; i < 32; ++i) fs.push_back(balrog::spawn([] { return frame_page_offset(); }));
    std::set<std::uintptr_t> offsets;
    for (auto& f : fs) offsets.insert(f.join());
    EXPECT_GE(offsets.size(), 16u);
  });
}

TEST(Stacks, DenseStacksRunOrdinaryCode) {
  balrog::run([] {
    std::vector<balrog::fiber<int>> fs;
    for (int i = 0; i < 1000; ++i) {
      fs.push_back(balrog::spawn(
          [] {
            balrog::this_fiber::yield();
            return recurse(nullptr, 4);
          },
          {.stack = balrog::stack_kind::dense}));
    }
    for (auto& f : fs) f.join();
  });
}

// White box: the dense pool maps few slabs for many fibers (geometric growth, not one 4 MiB slab
// per 256 stacks), arms the canary below every slot it hands out, and reuses freed slots first.
TEST(DenseStackPool, GrowsGeometricallyArmsCanariesAndReusesFreedSlotsFirst) {
  namespace d = balrog::detail;
  constexpr std::size_t slot = 16 << 10;
  constexpr std::size_t count = 2000;  // 256 + 512 + 1024 + 2048 slots: four slabs
  d::dense_stack_pool pool(slot);
  std::vector<boost::context::stack_context> stacks;
  for (std::size_t i = 0; i < count; ++i) {
    stacks.push_back(pool.allocate());
    d::stack_facts facts;
    pool.describe(stacks.back(), facts);
    ASSERT_EQ(facts.kind, balrog::stack_kind::dense);
    ASSERT_NE(facts.canary, nullptr);
    for (int w = 0; w < 8; ++w) ASSERT_EQ(facts.canary[-w], d::dense_canary) << i;
    ASSERT_EQ(static_cast<const char*>(stacks.back().sp) - static_cast<const char*>(facts.lowest),
              static_cast<std::ptrdiff_t>(slot - d::dense_stack_pool::canary_bytes));
  }
  EXPECT_EQ(pool.slabs(), 4U);
  for (std::size_t i = 1; i < 256; ++i) {  // the first slab's slots, in address order
    ASSERT_EQ(static_cast<char*>(stacks[i].sp) - static_cast<char*>(stacks[i - 1].sp),
              static_cast<std::ptrdiff_t>(slot));
  }
  for (auto& sc : stacks) pool.deallocate(sc);
  for (std::size_t i = 0; i < count; ++i) {
    const boost::context::stack_context sc = pool.allocate();
    ASSERT_EQ(sc.sp, stacks[count - 1 - i].sp);  // most recently freed first
  }
  EXPECT_EQ(pool.slabs(), 4U);
}

TEST(Stacks, TinyRequestsAreRoundedUpToTheMinimum) {
  balrog::run([] {
    auto f = balrog::spawn([] { return recurse(nullptr, 2); }, {.stack_size = 1});
    f.join();
  });
}

TEST(Stacks, PooledStacksAreReusedAcrossManyShortFibers) {
  balrog::run([] {
    for (int i = 0; i < 20'000; ++i) balrog::spawn([] {}).join();
  });
}

using StackOverflowDeathTest = testing::Test;

TEST(StackOverflowDeathTest, GuardedOverflowNamesTheFiber) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run([] {
                 balrog::spawn([] { recurse(nullptr, 1 << 20); },
                               {.name = "deep-diver", .stack_size = 64 << 10})
                     .join();
               }),
               "stack overflow in fiber 'deep-diver' \\(#[0-9]+\\).*[0-9]+-byte stack");
}

// Review finding G: a frame larger than the guard skips it. Without probing, a 100 KiB frame
// touches only its top and its bottom, so the overflow lands far below the stack (in the
// stack mapped below, or unnamed); -fstack-clash-protection probes each page of the frame in
// order, so it faults in the (64 KiB) guard and is named.
[[gnu::noinline]] void big_frames(int depth) {
  volatile char frame[100 << 10];
  frame[0] = 1;  // the frame's lowest byte: 100 KiB below its top
  if (depth > 0) big_frames(depth - 1);
  frame[1] = frame[0];
}

TEST(StackOverflowDeathTest, AFrameLargerThanTheGuardDoesNotSkipIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(balrog::run([] {
                 // Spawned first: mapped above the neighbour, whose stack it would reach.
                 auto diver = balrog::spawn([] { big_frames(1 << 20); },
                                            {.name = "big-frames", .stack_size = 256 << 10});
                 auto neighbour =
                     balrog::spawn([] { balrog::this_fiber::sleep_for(std::chrono::seconds(1)); },
                                   {.stack_size = 256 << 10});
                 diver.join();
                 neighbour.join();
               }),
               "stack overflow in fiber 'big-frames'|AddressSanitizer: stack-overflow");
}

TEST(StackOverflowDeathTest, DenseOverflowIsCaughtByTheCanary) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      balrog::run([] {
        auto neighbour = balrog::spawn([] { balrog::this_fiber::yield(); },
                                       {.stack = balrog::stack_kind::dense});
        // Overflow by a few KiB (into the neighbour's slot, not past it), then switch out.
        balrog::spawn(
            [] {
              char top = 0;
              use_stack(&top, (16 << 10) * stack_multiplier + 4096,
                        [] { balrog::this_fiber::yield(); });
            },
            {.name = "dense-diver", .stack_size = 16 << 10, .stack = balrog::stack_kind::dense})
            .join();
        neighbour.join();
      }),
      // Under ASan the overflow's first write into the neighbouring stack is caught
      // by ASan itself; either way it is reported, never silent.
      "stack overflow in fiber 'dense-diver'.*canary|AddressSanitizer: stack-buffer");
}
