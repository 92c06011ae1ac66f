// balrog::compat::offloaded<&fn> (balrog/compat/offloaded.hpp): fn's own result, errno and
// exceptions; on the offload pool on a fiber (other fibers run meanwhile), directly in sync
// mode; the fiber waits until fn returns even when cancelled or past its deadline_scope.
#include "balrog/compat/offloaded.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"

namespace compat = balrog::compat;
using namespace std::chrono_literals;

namespace {

std::thread::id thread_of_call() { return std::this_thread::get_id(); }

// Sleeps, then writes into the caller's buffer: the caller's memory must still be there.
int slow_fill(char* buf, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  std::strcpy(buf, "filled");
  return 7;
}

int throws_runtime_error(int) { throw std::runtime_error("from the pool"); }

// Fails the way libc does: -1 and errno.
int fails_with(int err) {
  errno = err;
  return -1;
}

// Reads errno as the caller left it (calls like readdir report "no error" by leaving it 0).
int errno_seen() { return errno; }

struct counter {
  int value = 0;
  int add(int n) { return value += n; }
  int& slot() { return value; }
};

TEST(Offloaded, SyncModeCallsTheFunctionDirectly) {
  EXPECT_EQ(compat::offloaded<&thread_of_call>(), std::this_thread::get_id());
  EXPECT_EQ(compat::offloaded<&fails_with>(EBADF), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Offloaded, OnAFiberRunsOnAnotherThread) {
  balrog::run([] { EXPECT_NE(compat::offloaded<&thread_of_call>(), std::this_thread::get_id()); });
}

TEST(Offloaded, CarriesErrnoBothWays) {
  balrog::run([] {
    EXPECT_EQ(compat::offloaded<&::fsync>(-1), -1);
    EXPECT_EQ(errno, EBADF);
    EXPECT_EQ(compat::offloaded<&fails_with>(ENOSPC), -1);
    EXPECT_EQ(errno, ENOSPC);
    errno = 0;
    EXPECT_EQ(compat::offloaded<&errno_seen>(), 0);
    errno = EINTR;
    EXPECT_EQ(compat::offloaded<&errno_seen>(), EINTR);
  });
}

TEST(Offloaded, PointerArgumentsAndRealBlockingCalls) {
  balrog::run([] {
    const int status = compat::offloaded<&::system>("exit 3");
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 3);
    const pid_t child = ::fork();
    if (child == 0) ::_exit(5);
    ASSERT_GT(child, 0);
    int child_status = 0;
    EXPECT_EQ(compat::offloaded<&::waitpid>(child, &child_status, 0), child);
    ASSERT_TRUE(WIFEXITED(child_status));
    EXPECT_EQ(WEXITSTATUS(child_status), 5);
  });
}

TEST(Offloaded, MemberFunctionsAndReferenceResults) {
  balrog::run([] {
    counter c;
    EXPECT_EQ(compat::offloaded<&counter::add>(c, 4), 4);
    EXPECT_EQ(compat::offloaded<&counter::add>(c, 3), 7);
    int& slot = compat::offloaded<&counter::slot>(c);
    EXPECT_EQ(&slot, &c.value);
  });
}

TEST(Offloaded, PropagatesExceptions) {
  balrog::run([] {
    EXPECT_THROW(compat::offloaded<&throws_runtime_error>(1), std::runtime_error);
    EXPECT_EQ(compat::offloaded<&fails_with>(0), -1);  // the fiber is fine afterwards
  });
}

TEST(Offloaded, OtherFibersKeepRunning) {
  balrog::run([] {
    std::atomic<bool> done{false};
    int ticks = 0;
    auto ticker = balrog::spawn([&] {
      while (!done) {
        ++ticks;
        balrog::this_fiber::sleep_for(5ms);
      }
    });
    EXPECT_EQ(compat::offloaded<&::usleep>(100000U), 0);
    done = true;
    ticker.join();
    EXPECT_GE(ticks, 5);  // ~20 when nothing blocks the shard; 1 if the call blocked it
  });
}

TEST(Offloaded, CancellationWaitsForTheCallThenTakesEffect) {
  balrog::run([] {
    std::atomic<bool> returned{false};
    std::atomic<bool> cancelled_after{false};
    auto f = balrog::spawn([&] {
      char buf[16] = {};
      const int rc = compat::offloaded<&slow_fill>(buf, 100);
      returned = rc == 7 && std::strcmp(buf, "filled") == 0;
      try {
        balrog::this_fiber::yield();  // the next suspension point sees the cancellation
      } catch (const balrog::cancelled&) {
        cancelled_after = true;
        throw;
      }
    });
    balrog::this_fiber::sleep_for(20ms);
    f.cancel();
    try {
      f.join();
    } catch (const balrog::cancelled&) {
    }
    EXPECT_TRUE(returned);
    EXPECT_TRUE(cancelled_after);
  });
}

TEST(Offloaded, DeadlineScopeDoesNotCutTheCallShort) {
  balrog::run([] {
    balrog::deadline_scope scope(20ms);
    char buf[16] = {};
    EXPECT_EQ(compat::offloaded<&slow_fill>(buf, 60), 7);
    EXPECT_STREQ(buf, "filled");
    EXPECT_THROW(balrog::this_fiber::sleep_for(1ms), balrog::timeout_error);
  });
}

}  // namespace
