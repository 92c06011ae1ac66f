// balrog::registered_fd: a socket registered once, waited on from fibers, tasks and plain
// threads, with the readiness of now whatever a library read behind balrog's back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/io.hpp"
#include "balrog/registered_fd.hpp"
#include "balrog/run.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "support/socket_pair.hpp"

using namespace std::chrono_literals;

namespace {

using balrog::test::socket_pair;

void put(int fd, const std::string& s) {
  ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

std::string take(int fd, std::size_t at_most) {
  std::string s(at_most, '\0');
  const ssize_t n = ::read(fd, s.data(), at_most);
  s.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return s;
}

}  // namespace

TEST(RegisteredFd, AFiberWaitsManyTimesThroughOneRegistration) {
  socket_pair p;
  balrog::run([&] {
    balrog::registered_fd reg(p.a);
    EXPECT_EQ(reg.fd(), p.a);
    auto reader = balrog::spawn([&] {
      std::string got;
      while (got.size() < 30) {
        reg.wait_readable(2s);
        got += take(p.a, 64);
      }
      return got;
    });
    for (int i = 0; i < 10; ++i) {
      balrog::this_fiber::sleep_for(1ms);
      put(p.b, "abc");
    }
    EXPECT_EQ(reader.join(), "abcabcabcabcabcabcabcabcabcabc");
    reg.wait_writable(1s);
  });
}

// The library reads behind balrog's back and leaves part of the input in the socket (libpq
// reads at most its buffer): the next wait must see that input at once, not wait for new data.
TEST(RegisteredFd, InputTheLibraryLeftIsSeenByTheNextWait) {
  socket_pair p;
  balrog::run([&] {
    balrog::registered_fd reg(p.a);
    put(p.b, std::string(100, 'x'));
    reg.wait_readable(1s);
    EXPECT_EQ(take(p.a, 10).size(), 10u);  // the "library" reads only some
    for (int i = 0; i < 9; ++i) {
      reg.wait_readable(1s);  // would time out if the rest were not seen
      EXPECT_EQ(take(p.a, 10).size(), 10u);
    }
    EXPECT_THROW(reg.wait_readable(20ms), balrog::timeout_error);  // drained now
  });
}

TEST(RegisteredFd, CoroutinesAwaitThroughTheRegistration) {
  socket_pair p;
  balrog::run([&] {
    balrog::registered_fd reg(p.a);
    auto coro = [&]() -> balrog::task<std::string> {
      std::string got;
      while (got.size() < 6) {
        co_await reg.readable(2s);
        got += take(p.a, 64);
      }
      co_await reg.writable(1s);
      co_return got;
    };
    auto task = balrog::spawn_task(coro());
    balrog::this_fiber::sleep_for(2ms);
    put(p.b, "foo");
    balrog::this_fiber::sleep_for(2ms);
    put(p.b, "bar");
    EXPECT_EQ(task.join(), "foobar");
    put(p.b, "baz");
    EXPECT_NO_THROW(balrog::await(reg.readable(1s)));  // a chain driven by a fiber
    EXPECT_EQ(take(p.a, 64), "baz");
  });
}

TEST(RegisteredFd, PlainThreadsPollAndDeadlinesLookFirst) {
  socket_pair p;
  balrog::registered_fd reg(p.a);
  EXPECT_THROW(reg.wait_readable(10ms), balrog::timeout_error);  // sync mode: poll(2)
  std::thread writer([&] {
    std::this_thread::sleep_for(5ms);
    put(p.b, "s");
  });
  reg.wait_readable(5s);
  writer.join();
  const auto look = [&] {
    reg.wait_readable(0ms);  // ready: a past deadline looks
    reg.wait_writable(-1s);
  };
  look();
  balrog::run(look);
  EXPECT_EQ(take(p.a, 8), "s");
  balrog::run([&] {
    try {
      reg.wait_readable(0ms);
      ADD_FAILURE() << "no timeout";
    } catch (const balrog::timeout_error& e) {
      EXPECT_NE(std::string(e.what()).find("registered_fd::wait_readable(fd"), std::string::npos)
          << e.what();
    }
  });
}

TEST(RegisteredFd, ResetFollowsANewFdAndNoFdIsAnError) {
  socket_pair first;
  socket_pair second;
  balrog::run([&] {
    balrog::registered_fd reg(first.a);
    put(first.b, "1");
    reg.wait_readable(1s);
    EXPECT_EQ(take(first.a, 8), "1");
    reg.reset(second.a);
    put(second.b, "2");
    reg.wait_readable(1s);
    EXPECT_EQ(take(second.a, 8), "2");
    // The first fd, no longer registered, still works with plain waits.
    put(first.b, "3");
    balrog::wait_readable(first.a, 1s);
    EXPECT_EQ(take(first.a, 8), "3");
    balrog::registered_fd moved = std::move(reg);
    EXPECT_EQ(reg.fd(), -1);  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(moved.fd(), second.a);
    try {
      reg.wait_readable(1s);  // NOLINT(bugprone-use-after-move)
      ADD_FAILURE() << "no error";
    } catch (const balrog::io_error& e) {
      EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
    }
  });
}

// The fd closed behind the registration's back and its number reused by another socket: a
// plain wait on that socket must not be swallowed by the stale registration.
TEST(RegisteredFd, AStaleRegistrationNeverHidesTheNextFileUnderItsNumber) {
  balrog::run([] {
    auto p = std::make_unique<socket_pair>();
    const int number = p->a;
    balrog::registered_fd reg(number);
    put(p->b, "old");
    reg.wait_readable(1s);  // registered now
    p.reset();              // closes both ends, without reg.reset()
    socket_pair fresh;
    ASSERT_TRUE(fresh.a == number || fresh.b == number);
    const int other = fresh.a == number ? fresh.b : fresh.a;
    put(other, "new");
    balrog::wait_readable(number, 1s);  // would time out if the stale registration hid it
    EXPECT_EQ(take(number, 8), "new");
    reg.reset();  // harmless now
  });
}
