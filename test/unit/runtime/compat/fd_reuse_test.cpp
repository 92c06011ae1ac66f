// A compat call waiting on an fd that is closed behind its back (by ::close, or by the compat
// close/dup2/dup3 the posix-net map rewrites to) must never read the bytes of the connection
// that reuses the number, and must not hang.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>

#include <string>
#include <utility>

#include "balrog/compat/posix_fd.hpp"
#include "balrog/compat/posix_net.hpp"
#include "balrog/task.hpp"
#include "compat_test_support.hpp"

namespace compat = balrog::compat;
using namespace compat_test;

namespace {

// What a compat::recv on a fiber returned: its outcome and the bytes it read.
struct received {
  outcome result{};
  std::string bytes;
};

balrog::fiber<received> spawn_recv(int fd) {
  return balrog::spawn([fd] {
    received r;
    char buf[64] = {};
    r.result = call([&] { return compat::recv(fd, buf, sizeof buf, 0); });
    if (r.result.result > 0) r.bytes.assign(buf, static_cast<std::size_t>(r.result.result));
    return r;
  });
}

// Gives the fiber time to start waiting (several turns of the loop).
void let_it_wait() {
  for (int i = 0; i < 5; ++i) balrog::this_fiber::yield();
}

}  // namespace

TEST(CompatFdReuse, AStaleWaiterNeverReadsTheNextConnectionsBytes) {
  balrog::run([] {
    auto [old_end, old_peer] = unix_pair();
    const int fd = old_end.get();
    auto stale = spawn_recv(fd);
    let_it_wait();
    ::close(fd);  // behind the runtime's back: no compat call sees it
    (void)old_end.release();
    // The lowest free number comes straight back, to a new connection with its own reader.
    auto [new_end, new_peer] = unix_pair();
    ASSERT_EQ(new_end.get(), fd);
    set_timeout(new_end, SO_RCVTIMEO, 2s);  // a reader robbed of its bytes gives up, not hangs
    auto fresh = spawn_recv(fd);
    let_it_wait();
    ASSERT_EQ(::write(new_peer, "for the new one", 15), 15);
    const received s = stale.join();
    const received f = fresh.join();
    EXPECT_EQ(f.bytes, "for the new one") << "the new connection's reader got " << f.result;
    EXPECT_EQ(s.bytes, "") << "the stale waiter read the new connection's bytes";
    EXPECT_EQ(s.result, (outcome{-1, EBADF})) << "the stale waiter learns its fd was closed";
  });
}

TEST(CompatFdReuse, CloseWakesTheFibersWaitingOnTheFd) {
  balrog::run([] {
    auto [end, peer] = unix_pair();
    const int fd = end.release();
    auto reader = spawn_recv(fd);
    auto writer = balrog::spawn([fd] {
      fill_send_buffer(fd);
      char chunk[4096] = {};
      return call([&] { return compat::send(fd, chunk, sizeof chunk, MSG_NOSIGNAL); });
    });
    let_it_wait();
    const stopwatch sw;
    EXPECT_EQ(call([&] { return compat::close(fd); }), (outcome{0, 0}));
    EXPECT_EQ(reader.join().result, (outcome{-1, EBADF}));
    EXPECT_EQ(writer.join(), (outcome{-1, EBADF}));
    EXPECT_LT(sw.elapsed(), 1s) << "woken by the close, not by a timeout";
    EXPECT_EQ(call([&] { return compat::close(fd); }), (outcome{-1, EBADF})) << "libc's result";
  });
}

TEST(CompatFdReuse, Dup2AndDup3OntoAWaitedFdWakeItsWaiters) {
  for (const bool three : {false, true}) {
    balrog::run([three] {
      auto [end, peer] = unix_pair();
      auto [other, other_peer] = unix_pair();
      const int fd = end.get();
      auto stale = spawn_recv(fd);
      let_it_wait();
      const int r = three ? compat::dup3(other, fd, O_CLOEXEC) : compat::dup2(other, fd);
      EXPECT_EQ(r, fd);
      // fd is now `other`'s file: its bytes are not for the stale waiter.
      ASSERT_EQ(::write(other_peer, "other", 5), 5);
      const received s = stale.join();
      EXPECT_EQ(s.result, (outcome{-1, EBADF}));
      char buf[8] = {};
      EXPECT_EQ(::read(fd, buf, sizeof buf), 5) << "the bytes stayed for fd's new file";
    });
  }
}

TEST(CompatFdReuse, Dup2OfAnFdOntoItselfChangesNothing) {
  balrog::run([] {
    auto [end, peer] = unix_pair();
    const int fd = end.get();
    auto waiter = spawn_recv(fd);
    let_it_wait();
    EXPECT_EQ(compat::dup2(fd, fd), fd);
    EXPECT_EQ(call([&] { return compat::dup3(fd, fd, 0); }), (outcome{-1, EINVAL}));
    ASSERT_EQ(::write(peer, "still", 5), 5);
    EXPECT_EQ(waiter.join().bytes, "still");
  });
}

// The calls are libc's in sync mode and inside coroutine code (they never wait).
TEST(CompatFdReuse, TheCallsAreLibcsEverywhere) {
  const auto exercise = [] {
    auto [end, peer] = unix_pair();
    int fd = end.release();
    EXPECT_EQ(compat::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    EXPECT_EQ(compat::fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    EXPECT_NE(compat::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    int off = 0;
    EXPECT_EQ(compat::ioctl(fd, FIONBIO, &off), 0);
    EXPECT_EQ(compat::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    const timeval tv{1, 0};
    EXPECT_EQ(compat::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    const int copy = compat::fcntl(fd, F_DUPFD_CLOEXEC, 100);
    EXPECT_GE(copy, 100);
    EXPECT_EQ(compat::close(copy), 0);
    EXPECT_EQ(compat::close(fd), 0);
    EXPECT_EQ(call([&] { return compat::close(fd); }), (outcome{-1, EBADF}));
  };
  exercise();  // sync mode
  balrog::run([&] {
    exercise();
    const auto coro = [&]() -> balrog::task<void> {
      exercise();
      co_return;
    };
    balrog::spawn_task(coro()).join();
  });
}

// What the compat layer remembers of an fd (blocking mode, timeouts) follows the fd: changed
// through the compat calls, or by the number meaning a new file.
TEST(CompatFdFacts, ChangesThroughCompatCallsAreSeen) {
  balrog::run([] {
    auto [end, peer] = unix_pair();
    const int fd = end.get();
    char buf[8];
    // A blocking recv that waits: the blocking mode and the (absent) timeout are remembered.
    later writer(10ms, [&] { ASSERT_EQ(::write(peer, "a", 1), 1); });
    EXPECT_EQ(call([&] { return compat::recv(fd, buf, sizeof buf, 0); }), (outcome{1, 0}));
    writer.join();
    // Non-blocking now: EAGAIN at once.
    ASSERT_EQ(compat::fcntl(fd, F_SETFL, compat::fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    EXPECT_EQ(call([&] { return compat::recv(fd, buf, sizeof buf, 0); }), (outcome{-1, EAGAIN}));
    // Blocking again, through ioctl, with a receive timeout: the recv waits that long.
    int off = 0;
    ASSERT_EQ(compat::ioctl(fd, FIONBIO, &off), 0);
    const timeval tv{0, 30'000};
    ASSERT_EQ(compat::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    const stopwatch sw;
    EXPECT_EQ(call([&] { return compat::recv(fd, buf, sizeof buf, 0); }), (outcome{-1, EAGAIN}));
    EXPECT_GE(sw.elapsed(), 25ms);
  });
}

TEST(CompatFdFacts, ANewFileUnderTheSameNumberIsAskedAgain) {
  balrog::run([] {
    auto [end, peer] = unix_pair();  // blocking
    const int fd = end.get();
    char buf[8];
    later writer(10ms, [&] { ASSERT_EQ(::write(peer, "a", 1), 1); });
    EXPECT_EQ(call([&] { return compat::recv(fd, buf, sizeof buf, 0); }), (outcome{1, 0}));
    writer.join();
    ::close(end.release());  // behind the runtime's back
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    unique_fd a(sv[0]);
    unique_fd b(sv[1]);
    ASSERT_EQ(a.get(), fd);
    // The new file is non-blocking: EAGAIN at once, not a wait.
    EXPECT_EQ(call([&] { return compat::recv(fd, buf, sizeof buf, 0); }), (outcome{-1, EAGAIN}));
  });
}
