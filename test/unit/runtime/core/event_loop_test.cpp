// balrog::event_loop: a host drives the shard one turn at a time (balrog/event_loop.hpp).
#include "balrog/event_loop.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/io.hpp"
#include "balrog/offload.hpp"
#include "balrog/run.hpp"
#include "balrog/runtime.hpp"
#include "balrog/sleep.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"

namespace {

using namespace std::chrono_literals;

balrog::task<int> add_after(int a, int b, std::chrono::milliseconds delay) {
  co_await balrog::sleep_for(delay);
  co_return a + b;
}

// Turns until `done()` or a generous limit (a hang fails instead of blocking the suite).
template <class Done>
bool turn_until(balrog::event_loop& loop, Done done) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    loop.run_once(100ms);
  }
  return true;
}

}  // namespace

TEST(EventLoop, RunsTasksAndFibersSpawnedBetweenTurns) {
  balrog::event_loop loop;
  auto t = balrog::spawn_task(add_after(2, 3, 5ms));
  std::vector<int> order;
  auto f = balrog::spawn([&] {
    order.push_back(1);
    balrog::this_fiber::sleep_for(1ms);
    order.push_back(2);
    return 7;
  });
  EXPECT_EQ(loop.alive(), 2u);
  ASSERT_TRUE(turn_until(loop, [&] { return t.done() && f.done(); }));
  EXPECT_EQ(t.join(), 5);  // finished: join does not wait
  EXPECT_EQ(f.join(), 7);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(loop.alive(), 0u);
}

TEST(EventLoop, ZeroWaitNeverBlocksAndAWaitEndsAtItsCap) {
  balrog::event_loop loop;
  auto started = std::chrono::steady_clock::now();
  loop.run_once(0ms);  // nothing to do: returns at once
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  started = std::chrono::steady_clock::now();
  loop.run_once(20ms);  // nothing to do: waits about the cap
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 19ms);
  EXPECT_LT(waited, 5s);
}

TEST(EventLoop, AWaitEndsAtTheNextTimer) {
  balrog::event_loop loop;
  auto t = balrog::spawn_task(add_after(1, 1, 10ms));
  loop.run_once(0ms);  // starts the task: it arms its timer
  EXPECT_FALSE(loop.next_timer().is_never());
  const auto started = std::chrono::steady_clock::now();
  loop.run_once(-1ms);  // no cap of its own: the timer ends the wait
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(loop.next_timer().is_never());
  EXPECT_EQ(t.join(), 2);
}

TEST(EventLoop, ATurnRunsOnlyWhatWasReadyWhenItBegan) {
  balrog::event_loop loop;
  std::atomic<bool> stop{false};
  long yields = 0;
  auto f = balrog::spawn([&] {
    while (!stop) {
      ++yields;
      balrog::this_fiber::yield();
    }
  });
  loop.run_once(0ms);  // returns although the fiber never stops yielding
  EXPECT_GT(yields, 0);
  EXPECT_TRUE(loop.has_ready());
  stop = true;
  ASSERT_TRUE(turn_until(loop, [&] { return f.done(); }));
  f.join();
}

TEST(EventLoop, PostAndWakeFromAnotherThreadEndAWait) {
  balrog::event_loop loop;
  std::atomic<bool> ran{false};
  std::thread poster([&] {
    std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(loop.post([&] { ran = true; }));
  });
  const auto started = std::chrono::steady_clock::now();
  while (!ran && std::chrono::steady_clock::now() - started < 10s) loop.run_once(-1ms);
  poster.join();
  EXPECT_TRUE(ran);

  std::thread waker([&] {
    std::this_thread::sleep_for(20ms);
    loop.wake();
  });
  const auto before = std::chrono::steady_clock::now();
  loop.run_once(30s);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  waker.join();
}

TEST(EventLoop, TheEpollFdPollsReadableWhenAWaitedFdIsReady) {
  balrog::event_loop loop;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto reader = balrog::spawn([&] {
    balrog::wait_readable(fds[0]);
    char c = 0;
    return ::read(fds[0], &c, 1) == 1 ? c : '?';
  });
  loop.run_once(0ms);  // the fiber now waits on the pipe
  const int host = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(::epoll_ctl(host, EPOLL_CTL_ADD, loop.native_handle(), &ev), 0);
  epoll_event got{};
  EXPECT_EQ(::epoll_wait(host, &got, 1, 0), 0);  // nothing ready yet
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  EXPECT_EQ(::epoll_wait(host, &got, 1, 5000), 1);
  ASSERT_TRUE(turn_until(loop, [&] { return reader.done(); }));
  EXPECT_EQ(reader.join(), 'x');
  ::close(host);
  ::close(fds[0]);
  ::close(fds[1]);
}

// The host's wake-up fd (CPython's signal.set_wakeup_fd): a byte written before the turn
// waits (a signal handled after the host last looked at its flags) ends that wait at once; the
// loop reads the pipe dry and passes the bytes on to a chained fd.
TEST(EventLoop, AByteOnTheWakeupFdEndsTheWaitAndIsPassedOn) {
  balrog::event_loop loop;
  const int fd = loop.wakeup_fd();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(loop.wakeup_fd(), fd);                  // one pipe per loop
  EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);  // CPython's set_wakeup_fd demands it
  EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);

  int chained[2];
  ASSERT_EQ(::pipe2(chained, O_NONBLOCK), 0);
  loop.forward_wakeups(chained[1]);
  const char signals[] = {10, 15};
  ASSERT_EQ(::write(fd, signals, sizeof signals), 2);  // before the turn: nothing to interrupt
  auto before = std::chrono::steady_clock::now();
  loop.run_once(30s);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  char got[4] = {};
  EXPECT_EQ(::read(chained[0], got, sizeof got), 2);
  EXPECT_EQ(got[0], 10);
  EXPECT_EQ(got[1], 15);

  // Drained: the next turn waits its cap.
  before = std::chrono::steady_clock::now();
  loop.run_once(50ms);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 40ms);

  // From another thread while the loop sleeps, with nothing to pass on to.
  loop.forward_wakeups(-1);
  std::thread writer([&] {
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(::write(fd, signals, 1), 1);
  });
  before = std::chrono::steady_clock::now();
  loop.run_once(30s);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  writer.join();
  EXPECT_EQ(::read(chained[0], got, sizeof got), -1);  // nothing passed on
  ::close(chained[0]);
  ::close(chained[1]);
}

TEST(EventLoop, DestructionCancelsWhatIsStillAlive) {
  std::atomic<bool> cancelled{false};
  {
    balrog::event_loop loop;
    balrog::spawn([&] {
      try {
        balrog::this_fiber::sleep_for(1h);
      } catch (const balrog::cancelled&) {
        cancelled = true;
        throw;
      }
    }).detach();
    balrog::spawn_task(add_after(1, 2, 1h)).detach();
    loop.run_once(0ms);
    EXPECT_EQ(loop.alive(), 2u);
  }  // cancels both and drains them
  EXPECT_TRUE(cancelled);
}

TEST(EventLoop, OneSchedulerPerThreadAndNoAwaitBetweenTurns) {
  balrog::run([] { EXPECT_THROW(balrog::event_loop{}, balrog::usage_error); });
  balrog::event_loop loop;
  EXPECT_THROW(balrog::event_loop{}, balrog::usage_error);
  EXPECT_THROW(balrog::run([] {}), balrog::usage_error);
  EXPECT_THROW(balrog::await(add_after(1, 1, 1ms)), balrog::usage_error);
}

TEST(EventLoop, AForkedChildAbandonsTheLoopAndStartsAFreshOne) {
  balrog::event_loop loop;
  balrog::spawn_task(add_after(1, 2, 1h)).detach();  // the parent's: must not run in the child
  // The offload pool has threads in the parent; the child has none of them.
  auto warm = balrog::spawn([] { return balrog::offload([] { return 4; }); });
  ASSERT_TRUE(turn_until(loop, [&] { return warm.done(); }));
  EXPECT_EQ(warm.join(), 4);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    loop.abandon_after_fork();
    balrog::event_loop fresh;
    if (fresh.alive() != 0) ::_exit(1);
    auto t = balrog::spawn_task(add_after(20, 22, 1ms));
    if (!turn_until(fresh, [&] { return t.done(); }) || t.join() != 42) ::_exit(2);
    auto f = balrog::spawn([] { return balrog::offload([] { return 5; }); });
    if (!turn_until(fresh, [&] { return f.done(); }) || f.join() != 5) ::_exit(3);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(loop.alive(), 1u);  // the parent's loop is untouched
  auto t = balrog::spawn_task(add_after(3, 4, 1ms));
  ASSERT_TRUE(turn_until(loop, [&] { return t.done(); }));
  EXPECT_EQ(t.join(), 7);
}

// The loop is a runtime of one shard: code written for shards (spawn_on, a listener per
// shard) runs on it in fiber mode.
TEST(EventLoop, IsARuntimeOfOneShard) {
  balrog::event_loop loop;
  EXPECT_EQ(balrog::this_shard::count(), 1U);
  std::size_t seen_count = 0;
  std::size_t seen_index = 99;
  auto f = balrog::spawn_on(0, [&] {
    seen_count = balrog::this_shard::count();
    seen_index = balrog::this_shard::index();
    return 7;
  });
  auto g = balrog::spawn([&] { return f.join(); });
  ASSERT_TRUE(turn_until(loop, [&] { return loop.alive() == 0; }));
  EXPECT_EQ(seen_count, 1U);
  EXPECT_EQ(seen_index, 0U);
  EXPECT_EQ(g.join(), 7);  // finished: join does not wait
  EXPECT_THROW((void)balrog::spawn_on(1, [] {}), balrog::usage_error);
}
