// wait_readable / wait_writable on fibers and in sync mode.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <thread>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/io.hpp"
#include "balrog/run.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

namespace {

struct pipe_pair {
  int read_end = -1;
  int write_end = -1;
  pipe_pair() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    read_end = fds[0];
    write_end = fds[1];
  }
  ~pipe_pair() {
    if (read_end >= 0) ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
  void put(char c) const { ASSERT_EQ(::write(write_end, &c, 1), 1); }
};

}  // namespace

TEST(WaitFd, AFiberWaitsWhileOthersRun) {
  pipe_pair p;
  balrog::run([&] {
    int ticks = 0;
    auto reader = balrog::spawn([&] {
      balrog::wait_readable(p.read_end);
      char c = 0;
      EXPECT_EQ(::read(p.read_end, &c, 1), 1);
      return c;
    });
    for (; ticks < 3; ++ticks) balrog::this_fiber::sleep_for(1ms);
    p.put('x');
    EXPECT_EQ(reader.join(), 'x');
    EXPECT_EQ(ticks, 3);
  });
}

TEST(WaitFd, SeveralWaitersOnOneFdAreWokenOneByOne) {
  pipe_pair p;
  balrog::run([&] {
    int got = 0;
    std::vector<balrog::fiber<void>> readers;
    for (int i = 0; i < 3; ++i) {
      readers.push_back(balrog::spawn([&] {
        for (;;) {
          balrog::wait_readable(p.read_end);
          char c = 0;
          if (::read(p.read_end, &c, 1) == 1) break;  // another reader may have won
        }
        ++got;
      }));
    }
    balrog::this_fiber::yield();
    for (int i = 0; i < 3; ++i) p.put('a');
    for (auto& r : readers) r.join();
    EXPECT_EQ(got, 3);
  });
}

TEST(WaitFd, ReaderAndWriterOnTheSameFd) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  balrog::run([&] {
    auto reader = balrog::spawn([&] { balrog::wait_readable(sv[0]); });
    auto writer = balrog::spawn([&] { balrog::wait_writable(sv[0]); });
    writer.join();  // writable at once, while the reader still waits on the same fd
    char c = 'z';
    ASSERT_EQ(::write(sv[1], &c, 1), 1);
    reader.join();
  });
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(WaitFd, OwnDeadlineThrowsTimeoutError) {
  pipe_pair p;
  balrog::run([&] {
    const auto start = balrog::clock::now();
    EXPECT_THROW(balrog::wait_readable(p.read_end, 20ms), balrog::timeout_error);
    EXPECT_GE(balrog::clock::now() - start, 19ms);
    // The fd is still usable afterwards.
    p.put('y');
    balrog::wait_readable(p.read_end, 1s);
  });
}

TEST(WaitFd, SyncModeUsesPoll) {
  pipe_pair p;
  EXPECT_THROW(balrog::wait_readable(p.read_end, 10ms), balrog::timeout_error);
  {
    balrog::deadline_scope scope(10ms);
    EXPECT_THROW(balrog::wait_readable(p.read_end), balrog::timeout_error);
  }
  std::thread writer([&] {
    std::this_thread::sleep_for(5ms);
    p.put('s');
  });
  balrog::wait_readable(p.read_end, 5s);
  writer.join();
  balrog::wait_writable(p.write_end);
}

TEST(WaitFd, CancelInterruptsAnFdWait) {
  pipe_pair p;
  balrog::run([&] {
    auto f = balrog::spawn([&] { balrog::wait_readable(p.read_end); });
    balrog::this_fiber::yield();
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
    // A later waiter on the same fd still works.
    p.put('q');
    balrog::wait_readable(p.read_end, 1s);
  });
}

TEST(WaitFd, RegularFilesAreAlwaysReady) {
  std::FILE* tmp = std::tmpfile();
  ASSERT_NE(tmp, nullptr);
  balrog::run([&] {
    balrog::wait_readable(::fileno(tmp), 1s);
    balrog::wait_writable(::fileno(tmp), 1s);
  });
  std::fclose(tmp);
}

TEST(WaitFd, BadFdsAreIoErrors) {
  balrog::run([] {
    EXPECT_THROW(balrog::wait_readable(-1), balrog::io_error);
    try {
      balrog::wait_readable(987654);
      FAIL();
    } catch (const balrog::io_error& e) {
      EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
    }
  });
  EXPECT_THROW(balrog::wait_readable(-3), balrog::io_error);
  EXPECT_THROW(balrog::wait_readable(987654, 1s), balrog::io_error);
}

TEST(WaitFd, ClosedAndReusedFdNumbersStillWork) {
  balrog::run([] {
    for (int round = 0; round < 5; ++round) {
      pipe_pair p;  // the same fd numbers come back each round
      auto f = balrog::spawn([&] { balrog::wait_readable(p.read_end, 1s); });
      balrog::this_fiber::yield();
      p.put('r');
      f.join();
    }
  });
}

// A past deadline means "look, don't wait", as poll(fd, 0) does: a ready fd returns, an idle
// one throws timeout_error, the same on a fiber, in sync mode and in coroutine code.
TEST(WaitFd, APastDeadlineLooksFirstOnAFiberAndInSyncMode) {
  pipe_pair p;
  const auto look = [&] {
    EXPECT_THROW(balrog::wait_readable(p.read_end, 0ms), balrog::timeout_error);
    EXPECT_THROW(balrog::wait_readable(p.read_end, -1s), balrog::timeout_error);
    balrog::wait_writable(p.write_end, 0ms);  // an empty pipe has room
    p.put('r');
    balrog::wait_readable(p.read_end, 0ms);
    balrog::wait_readable(p.read_end, balrog::clock::now() - 1h);
    char c = 0;
    EXPECT_EQ(::read(p.read_end, &c, 1), 1);
  };
  look();  // sync mode
  balrog::run(look);
}

TEST(WaitFd, AwaitingReadinessWithAPastDeadlineLooksFirst) {
  pipe_pair p;
  const auto look = [&]() -> balrog::task<void> {
    bool timed_out = false;
    try {
      co_await balrog::readable(p.read_end, 0ms);
    } catch (const balrog::timeout_error&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    co_await balrog::writable(p.write_end, 0ms);
    p.put('r');
    co_await balrog::readable(p.read_end, 0ms);
    char c = 0;
    EXPECT_EQ(::read(p.read_end, &c, 1), 1);
  };
  balrog::run([&] {
    balrog::await(look());              // a chain driven by a fiber
    balrog::spawn_task(look()).join();  // a coroutine task
  });
  balrog::await(look());  // sync mode: a private scheduler
}
