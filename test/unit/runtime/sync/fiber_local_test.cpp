// balrog/fiber_local.hpp: one value per fiber (per thread off the runtime).
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "balrog/fiber.hpp"
#include "balrog/fiber_local.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/sync_test_support.hpp"

namespace {

using balrog_test::let_fibers_run;

struct tracked {
  static inline int alive = 0;
  static inline int made = 0;
  int value = 0;
  tracked() {
    ++alive;
    ++made;
  }
  explicit tracked(int v) : tracked() { value = v; }
  tracked(const tracked&) = delete;
  tracked& operator=(const tracked&) = delete;
  ~tracked() { --alive; }
};

TEST(FiberLocal, EachFiberHasItsOwnValueAcrossSuspensions) {
  static balrog::fiber_local<std::string> current_user;
  balrog::run([] {
    std::vector<balrog::fiber<std::string>> fibers;
    for (int i = 0; i < 5; ++i) {
      fibers.push_back(balrog::spawn([i] {
        EXPECT_EQ(*current_user, "");  // T() on first access
        *current_user = "user-" + std::to_string(i);
        let_fibers_run();  // the others write theirs meanwhile
        return *current_user;
      }));
    }
    for (int i = 0; i < 5; ++i) EXPECT_EQ(fibers[i].join(), "user-" + std::to_string(i));
    EXPECT_EQ(current_user->size(), 0U);  // the main fiber's own, untouched
  });
}

TEST(FiberLocal, TheFactoryMakesOnePerFiberAndValuesDieWithTheirFiber) {
  tracked::alive = 0;
  tracked::made = 0;
  static balrog::fiber_local<tracked> slot([] { return tracked(7); });
  balrog::run([] {
    auto a = balrog::spawn([] {
      EXPECT_EQ(slot->value, 7);
      slot->value = 1;
      EXPECT_EQ(slot.get().value, 1);  // the same one
      let_fibers_run();
    });
    auto b = balrog::spawn([] {
      EXPECT_EQ(slot->value, 7);
      let_fibers_run();
    });
    let_fibers_run(1);
    EXPECT_EQ(tracked::alive, 2);
    a.join();
    b.join();
    EXPECT_EQ(tracked::alive, 0);  // destroyed when their fibers ended
    EXPECT_EQ(slot->value, 7);     // the main fiber's
    EXPECT_EQ(tracked::alive, 1);
  });
  EXPECT_EQ(tracked::alive, 0);  // the main fiber's too, when run() ended
  EXPECT_EQ(tracked::made, 3);
}

TEST(FiberLocal, OffTheRuntimeItIsPerThread) {
  static balrog::fiber_local<int> counter;
  ++*counter;
  ++*counter;
  int other = -1;
  std::thread([&] {
    ++*counter;
    other = *counter;
  }).join();
  EXPECT_EQ(other, 1);
  EXPECT_EQ(*counter, 2);
}

TEST(FiberLocal, FibersOfTwoShardsAreApart) {
  static balrog::fiber_local<int> value([] { return 10; });
  auto a = balrog_test::run_on_thread([] {
    for (int i = 0; i < 100; ++i) ++*value;
    return *value;
  });
  auto b = balrog_test::run_on_thread([] {
    for (int i = 0; i < 50; ++i) ++*value;
    return *value;
  });
  EXPECT_EQ(a.get(), 110);
  EXPECT_EQ(b.get(), 60);
}

}  // namespace
