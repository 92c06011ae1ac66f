#include <gtest/gtest.h>

#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"

TEST(Fiber, RunReturnsValue) {
  EXPECT_EQ(balrog::run([] { return 42; }), 42);
}

TEST(Fiber, SpawnJoin) {
  int r = balrog::run([] {
    auto f = balrog::spawn([] { return 7; });
    return f.join() * 6;
  });
  EXPECT_EQ(r, 42);
}
