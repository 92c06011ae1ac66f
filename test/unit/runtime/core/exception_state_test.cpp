// Per-fiber C++ exception state: switching inside catch blocks and during unwinding.
#include <gtest/gtest.h>

#include <exception>
#include <stdexcept>
#include <string>

#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"

TEST(ExceptionState, RethrowAfterASwitchInsideACatchBlockRethrowsOurOwnException) {
  balrog::run([] {
    auto a = balrog::spawn([] {
      try {
        throw std::runtime_error("from a");
      } catch (...) {
        balrog::this_fiber::yield();  // b throws and catches its own exception meanwhile
        try {
          throw;
        } catch (const std::runtime_error& e) {
          return std::string(e.what());
        }
      }
      return std::string();
    });
    auto b = balrog::spawn([] {
      try {
        throw std::logic_error("from b");
      } catch (...) {
        balrog::this_fiber::yield();  // switch back to a while b is inside its catch
        try {
          throw;
        } catch (const std::logic_error& e) {
          return std::string(e.what());
        }
      }
      return std::string();
    });
    EXPECT_EQ(a.join(), "from a");
    EXPECT_EQ(b.join(), "from b");
  });
}

TEST(ExceptionState, CurrentExceptionIsPerFiber) {
  balrog::run([] {
    auto a = balrog::spawn([] {
      try {
        throw 1;
      } catch (int) {
        balrog::this_fiber::yield();
        return std::current_exception() != nullptr;
      }
    });
    auto b = balrog::spawn([] {
      // b is not in a catch block, even though a is suspended inside one.
      return std::current_exception() == nullptr;
    });
    EXPECT_TRUE(a.join());
    EXPECT_TRUE(b.join());
  });
}

namespace {

// Records std::uncaught_exceptions() in its destructor, after switching fibers.
struct switches_while_unwinding {
  int* seen;
  ~switches_while_unwinding() {
    balrog::this_fiber::yield();
    *seen = std::uncaught_exceptions();
  }
};

}  // namespace

TEST(ExceptionState, UncaughtExceptionsCountIsPerFiberDuringUnwinding) {
  balrog::run([] {
    int seen_unwinding = -1;
    int seen_other = -1;
    auto a = balrog::spawn([&] {
      try {
        switches_while_unwinding guard{&seen_unwinding};
        throw std::runtime_error("unwinding");
      } catch (const std::runtime_error&) {
      }
    });
    auto b = balrog::spawn([&] {
      balrog::this_fiber::yield();
      seen_other = std::uncaught_exceptions();
    });
    a.join();
    b.join();
    EXPECT_EQ(seen_unwinding, 1);
    EXPECT_EQ(seen_other, 0);
  });
}
