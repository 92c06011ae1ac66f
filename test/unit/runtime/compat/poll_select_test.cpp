// balrog::compat poll / select: several fds, timeouts, bad arguments; on fibers and in sync
// mode, against libc's own results.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <array>
#include <vector>

#include "balrog/compat/posix_net.hpp"
#include "compat_test_support.hpp"

namespace compat = balrog::compat;
using namespace compat_test;

namespace {

std::vector<short> revents_of(const std::vector<pollfd>& fds) {
  std::vector<short> r;
  for (const pollfd& p : fds) r.push_back(p.revents);
  return r;
}

}  // namespace

TEST(CompatPoll, WaitsForOneOfSeveralFds) {
  auto [a0, a1] = unix_pair();
  auto [b0, b1] = unix_pair();
  auto [c0, c1] = unix_pair();
  balrog::run([&, &a0 = a0, &b0 = b0, &b1 = b1, &c0 = c0] {
    ticker t;
    const stopwatch sw;
    later writer(30ms, [&] { ASSERT_EQ(::write(b1, "x", 1), 1); });
    std::vector<pollfd> fds{{a0, POLLIN, 0}, {b0, POLLIN, 0}, {c0, POLLIN, 0}};
    EXPECT_EQ(compat::poll(fds.data(), fds.size(), 5000), 1);
    EXPECT_GE(sw.elapsed(), 25ms);
    EXPECT_EQ(revents_of(fds), (std::vector<short>{0, POLLIN, 0}));
    EXPECT_GE(t.stop(), enough_ticks(30ms));
  });
}

TEST(CompatPoll, TimesOutWithZero) {
  auto [a, b] = unix_pair();
  const auto scenario = [&, &a = a](auto poll_fn) {
    pollfd p{a, POLLIN, 0};
    const stopwatch sw;
    const outcome o = call([&] { return poll_fn(&p, 1, 30); });
    EXPECT_GE(sw.elapsed(), 29ms);
    EXPECT_EQ(p.revents, 0);
    return o;
  };
  const outcome libc = scenario(::poll);
  EXPECT_EQ(libc, (outcome{0, 0}));
  balrog::run([&] {
    ticker t;
    EXPECT_EQ(scenario(compat::poll), libc);
    EXPECT_GE(t.stop(), enough_ticks(30ms));
  });
  EXPECT_EQ(scenario(compat::poll), libc);
}

// POLLNVAL for a bad fd, negative fds ignored, readiness of several kinds at once: the same
// answer as libc's, entry by entry.
TEST(CompatPoll, ResultsMatchLibcEntryByEntry) {
  auto [a, b] = unix_pair();
  auto [c, d] = unix_pair();
  ASSERT_EQ(::write(b, "x", 1), 1);
  d.reset();  // c sees a hang-up
  const auto scenario = [&, &a = a, &c = c](auto poll_fn) {
    std::vector<pollfd> fds{{987654, POLLIN, 0}, {-1, POLLIN, 0}, {a, POLLIN | POLLOUT, 0},
                            {c, POLLIN, 0},      {a, POLLPRI, 0}, {-5, 0, 0}};
    const outcome o = call([&] { return poll_fn(fds.data(), fds.size(), 1000); });
    return std::pair(o, revents_of(fds));
  };
  const auto libc = scenario(::poll);
  EXPECT_EQ(libc.first, (outcome{3, 0}));
  EXPECT_EQ(libc.second[0], POLLNVAL);
  EXPECT_EQ(libc.second[1], 0);
  EXPECT_EQ(balrog::run([&] { return scenario(compat::poll); }), libc);
  EXPECT_EQ(scenario(compat::poll), libc);
}

TEST(CompatPoll, TooManyFdsIsEinvalLikeLibc) {
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= (1u << 30)) GTEST_SKIP();
  // The kernel checks nfds against RLIMIT_NOFILE before it reads the array.
  const nfds_t too_many = lim.rlim_cur + 1;
  const outcome libc = call([&] { return ::poll(nullptr, too_many, 10); });
  EXPECT_EQ(libc, (outcome{-1, EINVAL}));
  balrog::run([&] { EXPECT_EQ(call([&] { return compat::poll(nullptr, too_many, 10); }), libc); });
}

// poll(NULL, 0, ms) and entries with only negative fds are sleeps.
TEST(CompatPoll, NoFdsIsASleep) {
  balrog::run([] {
    ticker t;
    const stopwatch sw;
    EXPECT_EQ(compat::poll(nullptr, 0, 30), 0);
    pollfd ignored{-1, POLLIN, 0};
    EXPECT_EQ(compat::poll(&ignored, 1, 10), 0);
    EXPECT_GE(sw.elapsed(), 39ms);
    EXPECT_GE(t.stop(), enough_ticks(40ms));
  });
}

// events == 0 still reports hang-ups and errors; the reactor cannot arm for those alone, so
// the wait re-checks every few milliseconds. Also POLLRDHUP without POLLIN.
TEST(CompatPoll, HangupWithoutReadInterest) {
  for (const short events : {short{0}, short{POLLRDHUP}}) {
    auto [a, b] = unix_pair();
    balrog::run([&, &a = a, &b = b] {
      ticker t;
      // Data that must not end the wait by itself, then the hang-up that must.
      const stopwatch sw;
      later peer(20ms, [&] {
        ASSERT_EQ(::write(b, "data", 4), 4);
        std::this_thread::sleep_for(20ms);
        ::shutdown(b, SHUT_RDWR);
      });
      pollfd p{a, events, 0};
      EXPECT_EQ(compat::poll(&p, 1, 5000), 1);
      EXPECT_GE(sw.elapsed(), 35ms);
      pollfd expected{a, events, 0};
      EXPECT_EQ(::poll(&expected, 1, 0), 1);
      EXPECT_EQ(p.revents, expected.revents);
      EXPECT_NE(p.revents & (POLLHUP | POLLRDHUP), 0);
      EXPECT_GE(t.stop(), enough_ticks(40ms));
    });
  }
}

TEST(CompatSelect, WaitsForOneOfSeveralFds) {
  auto [a0, a1] = unix_pair();
  auto [b0, b1] = unix_pair();
  balrog::run([&, &a0 = a0, &b0 = b0, &b1 = b1] {
    ticker t;
    const stopwatch sw;
    later writer(30ms, [&] { ASSERT_EQ(::write(b1, "x", 1), 1); });
    fd_set r;
    FD_ZERO(&r);
    FD_SET(a0, &r);
    FD_SET(b0, &r);
    const int nfds = std::max<int>(a0, b0) + 1;
    EXPECT_EQ(compat::select(nfds, &r, nullptr, nullptr, nullptr), 1);
    EXPECT_GE(sw.elapsed(), 25ms);
    EXPECT_FALSE(FD_ISSET(a0, &r));
    EXPECT_TRUE(FD_ISSET(b0, &r));
    EXPECT_GE(t.stop(), enough_ticks(30ms));
    // Writable at once, readable not: only the write set has a bit.
    fd_set rr;
    fd_set ww;
    FD_ZERO(&rr);
    FD_ZERO(&ww);
    FD_SET(a0, &rr);
    FD_SET(a0, &ww);
    timeval tv{1, 0};
    EXPECT_EQ(compat::select(a0 + 1, &rr, &ww, nullptr, &tv), 1);
    EXPECT_FALSE(FD_ISSET(a0, &rr));
    EXPECT_TRUE(FD_ISSET(a0, &ww));
  });
}

// Linux writes the time left back to *timeout; on a timeout every set is cleared.
TEST(CompatSelect, TimeoutAndTimeLeftLikeLibc) {
  auto [a, b] = unix_pair();
  const auto scenario = [&, &a = a](auto select_fn) {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(a, &r);
    timeval tv{0, 30'000};
    const stopwatch sw;
    const outcome o = call([&] { return select_fn(a + 1, &r, nullptr, nullptr, &tv); });
    EXPECT_GE(sw.elapsed(), 29ms);
    EXPECT_FALSE(FD_ISSET(a, &r));
    EXPECT_EQ(tv.tv_sec, 0);
    EXPECT_EQ(tv.tv_usec, 0);
    return o;
  };
  const outcome libc = scenario(::select);
  EXPECT_EQ(libc, (outcome{0, 0}));
  EXPECT_EQ(balrog::run([&] { return scenario(compat::select); }), libc);
  EXPECT_EQ(scenario(compat::select), libc);
  // Ready after ~10ms of a 2 s timeout: about 1.99 s left.
  balrog::run([&, &a = a, &b = b] {
    later writer(10ms, [&] { ASSERT_EQ(::write(b, "x", 1), 1); });
    fd_set r;
    FD_ZERO(&r);
    FD_SET(a, &r);
    timeval tv{2, 0};
    EXPECT_EQ(compat::select(a + 1, &r, nullptr, nullptr, &tv), 1);
    EXPECT_EQ(tv.tv_sec, 1);
    EXPECT_GT(tv.tv_usec, 500'000);
  });
}

TEST(CompatSelect, BadArgumentsFailLikeLibc) {
  auto [a, b] = unix_pair();
  // A closed fd inside the fd table (which dup2 grew past it), far above the fds that
  // balrog::run opens for its reactor.
  const int closed = 200;
  ASSERT_EQ(::dup2(a, closed), closed);
  ASSERT_EQ(::close(closed), 0);
  // Beyond the fd table the kernel ignores fds (select then times out): whichever it is,
  // compat::select must answer the same.
  const int far = FD_SETSIZE - 1;
  ASSERT_EQ(::fcntl(far, F_GETFD), -1);
  const auto scenario = [&, &a = a](auto select_fn) {
    std::vector<outcome> out;
    fd_set r;
    timeval tv{0, 10'000};
    out.push_back(call([&] { return select_fn(-1, nullptr, nullptr, nullptr, &tv); }));
    tv = {0, -1};
    out.push_back(call([&] { return select_fn(0, nullptr, nullptr, nullptr, &tv); }));
    tv = {-1, 0};
    out.push_back(call([&] { return select_fn(0, nullptr, nullptr, nullptr, &tv); }));
    FD_ZERO(&r);
    FD_SET(closed, &r);
    tv = {0, 10'000};
    out.push_back(call([&] { return select_fn(closed + 1, &r, nullptr, nullptr, &tv); }));
    FD_ZERO(&r);
    FD_SET(far, &r);
    tv = {0, 10'000};
    out.push_back(call([&] { return select_fn(far + 1, &r, nullptr, nullptr, &tv); }));
    // tv_usec beyond a second is normalized, not an error.
    FD_ZERO(&r);
    FD_SET(a, &r);
    fd_set w = r;
    tv = {0, 1'500'000};
    out.push_back(call([&] { return select_fn(a + 1, &r, &w, nullptr, &tv); }));
    return out;
  };
  const auto libc = scenario(::select);
  ASSERT_EQ(libc.size(), 6u);
  EXPECT_EQ(libc[0], (outcome{-1, EINVAL}));
  EXPECT_EQ(libc[1], (outcome{-1, EINVAL}));
  EXPECT_EQ(libc[2], (outcome{-1, EINVAL}));
  EXPECT_EQ(libc[3], (outcome{-1, EBADF}));
  EXPECT_EQ(libc[5], (outcome{1, 0}));
  EXPECT_EQ(balrog::run([&] { return scenario(compat::select); }), libc);
  EXPECT_EQ(scenario(compat::select), libc);
}

// exceptfds (POLLPRI: TCP urgent data) is watched by re-checking every few milliseconds.
TEST(CompatSelect, ExceptfdsSeeOutOfBandData) {
  auto [c, s] = tcp_pair();
  balrog::run([&, &c = c, &s = s] {
    later sender(20ms, [&] { ASSERT_EQ(::send(c, "!", 1, MSG_OOB), 1); });
    fd_set e;
    FD_ZERO(&e);
    FD_SET(s, &e);
    timeval tv{5, 0};
    EXPECT_EQ(compat::select(s + 1, nullptr, nullptr, &e, &tv), 1);
    EXPECT_TRUE(FD_ISSET(s, &e));
  });
}

TEST(CompatPollSelect, SyncModeOnAPlainThread) {
  auto [a, b] = unix_pair();
  std::thread plain([&, &a = a, &b = b] {
    const stopwatch sw;
    later writer(20ms, [&] { ASSERT_EQ(::write(b, "x", 1), 1); });
    pollfd p{a, POLLIN, 0};
    EXPECT_EQ(compat::poll(&p, 1, 5000), 1);
    EXPECT_GE(sw.elapsed(), 15ms);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(a, &r);
    EXPECT_EQ(compat::select(a + 1, &r, nullptr, nullptr, nullptr), 1);
  });
  plain.join();
}
