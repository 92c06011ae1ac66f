// The reactor's edge registrations (runtime/src/reactor/reactor.hpp), white-box: the readiness
// cache per direction (tokio's ScheduledIo), event ticks against a clear racing an event, and
// generations that keep a waiter of a file that is gone from the readiness of the next file
// under its number. And the one fd-wait path in both directions at once (fd_interest).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <coroutine>
#include <optional>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/fd_wait.hpp"
#include "balrog/fiber.hpp"
#include "balrog/io.hpp"
#include "balrog/run.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "io/fd_waits.hpp"
#include "reactor/reactor.hpp"
#include "support/socket_pair.hpp"

using namespace std::chrono_literals;
using balrog::deadline;
namespace d = balrog::detail;

namespace {

using balrog::test::socket_pair;

void put(int fd) {
  const char c = 'x';
  ASSERT_EQ(::write(fd, &c, 1), 1);
}

// Registers `fd` edge-triggered on this fiber's reactor as an owner's first wait does (after
// its first attempt found the read would block), without waiting.
d::io_registration register_edge(d::reactor& r, int fd) {
  d::execution_context& ctx = d::current_context();
  d::fd_wait w(ctx, fd, false);
  d::io_registration reg;
  ctx.prepare_wait();
  if (r.add(w, reg, d::io_mode::edge) == d::reactor::queued::waiting) r.remove(w);
  EXPECT_TRUE(ctx.withdraw_wait());
  return reg;
}

// A wait through `reg` that must not have to wait: what add() says, and the revents it hands.
std::optional<std::uint32_t> ready_at_once(d::reactor& r, d::io_registration& reg, int fd) {
  d::execution_context& ctx = d::current_context();
  d::fd_wait w(ctx, fd, false);
  ctx.prepare_wait();
  const d::reactor::queued q = r.add(w, reg, d::io_mode::edge);
  if (q == d::reactor::queued::waiting) r.remove(w);
  EXPECT_TRUE(ctx.withdraw_wait());
  if (q == d::reactor::queued::waiting) return std::nullopt;
  return w.revents;
}

}  // namespace

TEST(Reactor, AnEdgeThatCameBeforeTheWaiterStillWakesIt) {
  socket_pair p;
  balrog::run([&] {
    d::reactor& r = *d::current_reactor();
    d::io_registration reg = register_edge(r, p.a);
    EXPECT_FALSE(r.ready(reg, false));  // the owner found it would block
    put(p.b);
    // The edge comes while nobody waits: an edge-triggered fd reports it once, never again.
    (void)r.poll(std::chrono::milliseconds(100));
    EXPECT_TRUE(r.ready(reg, false));
    const auto revents = ready_at_once(r, reg, p.a);
    ASSERT_TRUE(revents.has_value()) << "the wait would sleep through data already there";
    EXPECT_NE(*revents & EPOLLIN, 0u);
    r.deregister(reg, /*still_open=*/true);
  });
}

TEST(Reactor, AClearRacingAnEventKeepsTheReadiness) {
  socket_pair p;
  balrog::run([&] {
    d::reactor& r = *d::current_reactor();
    d::io_registration reg = register_edge(r, p.a);
    put(p.b);
    (void)r.poll(std::chrono::milliseconds(100));
    ASSERT_TRUE(r.ready(reg, false));
    // An attempt started before the next event and found EAGAIN (say): the event that came
    // meanwhile must not be forgotten.
    const std::uint64_t since = r.tick();
    put(p.b);
    (void)r.poll(std::chrono::milliseconds(100));
    r.clear_ready(reg, false, since);
    EXPECT_TRUE(r.ready(reg, false));
    // With no event since, the clear holds: the next attempt waits instead of finding EAGAIN.
    r.clear_ready(reg, false, r.tick());
    EXPECT_FALSE(r.ready(reg, false));
    r.deregister(reg, /*still_open=*/true);
  });
}

TEST(Reactor, AWaiterOfAFileThatIsGoneIsNotWokenByTheNextFileUnderItsNumber) {
  auto old_pair = std::make_unique<socket_pair>();
  const int number = old_pair->a;
  balrog::run([&] {
    d::reactor& r = *d::current_reactor();
    d::io_registration reg = register_edge(r, number);
    std::uint32_t seen = 0;
    balrog::fiber<void> waiter = balrog::spawn([&] {
      d::execution_context& ctx = d::current_context();
      d::fd_wait w(ctx, number, false);
      ctx.prepare_wait();
      ASSERT_EQ(r.add(w, reg, d::io_mode::edge), d::reactor::queued::waiting);
      (void)ctx.wait(deadline::never());
      r.remove(w);
      seen = w.revents;
    });
    balrog::this_fiber::yield();  // the waiter queues on the old file
    // Closed behind the reactor's back, and the number reused by another file with input.
    ::close(old_pair->a);
    old_pair->a = -1;
    socket_pair fresh;
    if (fresh.a != number) {
      ASSERT_EQ(::dup2(fresh.a, number), number);
      ::close(fresh.a);
      fresh.a = number;
    }
    put(fresh.b);
    // A plain wait on the number: its arm proves the old registration is gone.
    balrog::wait_readable(number, deadline(1s));
    waiter.join();
    EXPECT_EQ(seen, d::fd_closed_event) << "the old file's waiter saw the new file's input";
  });
}

TEST(FdWaitPath, ReadOrWriteWakesOnEitherDirection) {
  socket_pair p;
  balrog::run([&] {
    // Writable at once: no wait at all, and the revents say which direction.
    d::fd_wait_outcome out =
        d::wait_for_fd(d::current_context(), p.a, d::fd_interest::read_or_write, deadline(1s));
    EXPECT_EQ(out.why, d::wake_reason::notified);
    EXPECT_NE(out.revents & POLLOUT, 0u);
    // Fill the socket: not writable any more; input wakes the read-or-write wait.
    std::vector<char> block(1 << 16, 'x');
    while (::write(p.a, block.data(), block.size()) > 0) {
    }
    balrog::fiber<void> talker = balrog::spawn([&] { put(p.b); });
    out = d::wait_for_fd(d::current_context(), p.a, d::fd_interest::read_or_write, deadline(1s));
    EXPECT_EQ(out.why, d::wake_reason::notified);
    EXPECT_NE(out.revents & POLLIN, 0u);
    talker.join();
  });
}

TEST(FdWaitPath, APastDeadlineLooksInBothDirectionsFromCoroutines) {
  socket_pair p;
  // A ready socket and a deadline already past: ready, as poll(fd, 0) says (review I).
  struct either {
    using balrog_resumes_home = void;
    int fd;
    deadline until;
    std::optional<d::fd_wait_state> wait;
    d::fd_wait_outcome out;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      return d::suspend_on_fd(wait, fd, d::fd_interest::read_or_write, nullptr, h, until, out);
    }
    d::fd_wait_outcome await_resume() { return d::resume_from_fd(wait, out); }
  };
  auto look = [](int fd) -> balrog::task<d::fd_wait_outcome> {
    either e{fd, deadline(std::chrono::steady_clock::now() - 1s), {}, {}};
    co_return co_await e;
  };
  balrog::run([&] {
    const d::fd_wait_outcome out = balrog::await(look(p.a));
    EXPECT_EQ(out.why, d::wake_reason::notified);
    EXPECT_NE(out.revents & POLLOUT, 0u);
  });
}

// A one-direction wait (every net read and write) touches its node, its owner's node and the
// flags again after the switch back; those come first in the state, ahead of the write node
// only a read_or_write wait uses, so they span two or three cache lines rather than four.
TEST(FdWaitPath, AOneDirectionWaitKeepsItsHotStateTogether) {
  socket_pair p;
  d::fd_wait_state st(d::current_context(), p.a, d::fd_interest::read, nullptr);
  const auto* base = reinterpret_cast<const char*>(&st);
  const auto* flags_end = reinterpret_cast<const char*>(&st.either) + sizeof st.either;
  EXPECT_LE(flags_end - base, 136);
  EXPECT_LT(reinterpret_cast<const char*>(&st.owner_node),
            reinterpret_cast<const char*>(&st.writer));
  EXPECT_EQ(st.interest(), d::fd_interest::read);
  const d::fd_wait_state both(d::current_context(), p.a, d::fd_interest::read_or_write, nullptr);
  EXPECT_EQ(both.interest(), d::fd_interest::read_or_write);
  EXPECT_TRUE(both.either && both.writer.has_value());
}
