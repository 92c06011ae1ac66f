// What interrupts a compat call on a fiber, and how it is reported: cancellation (ECANCELED),
// an expired deadline_scope (ETIMEDOUT), coroutine code (EDEADLK) — never an exception — and
// signals, which never produce EINTR.
#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/compat/compat.hpp"
#include "balrog/deadline.hpp"
#include "balrog/task.hpp"
#include "compat_test_support.hpp"

namespace compat = balrog::compat;
using namespace compat_test;

namespace {

// A TCP listener that drops new SYNs (backlog 0, one connection queued): connects to it wait.
struct full_listener {
  tcp_listener l = tcp_listen(0);
  unique_fd queued = tcp_socket();
  full_listener() { check(::connect(queued, as_sockaddr(l.addr), sizeof l.addr) == 0, "fill"); }
};

// Runs `fn` on a new fiber, cancels that fiber after `delay`, and returns what fn returned
// with errno, and how long it took. The fiber must end normally: a compat call never throws.
template <class F>
std::pair<outcome, balrog::clock::duration> cancelled_during(
    F fn, std::chrono::milliseconds delay = 10ms) {
  const stopwatch sw;
  auto f = balrog::spawn([fn] { return call(fn); });
  balrog::this_fiber::sleep_for(delay);
  f.cancel();
  outcome o = f.join();
  return {o, sw.elapsed()};
}

}  // namespace

TEST(CompatInterruption, CancellationEndsEveryWaitWithEcanceled) {
  auto [a, b] = unix_pair();
  auto [pr, pw] = blocking_pipe();
  auto [full_r, full_w] = blocking_pipe();
  ::fcntl(full_w, F_SETFL, O_NONBLOCK);
  while (::write(full_w, "xxxxxxxxxxxxxxxx", 16) > 0) {
  }
  ::fcntl(full_w, F_SETFL, 0);
  tcp_listener listener = tcp_listen();
  full_listener backlog;
  balrog::run([&, &a = a, &pr = pr, &full_w = full_w] {
    const outcome cancelled{-1, ECANCELED};
    char buf[8];
    std::vector<std::pair<std::string, std::function<long()>>> calls{
        {"recv", [&] { return compat::recv(a, buf, sizeof buf, 0); }},
        {"read pipe", [&] { return compat::read(pr, buf, sizeof buf); }},
        {"write full pipe", [&] { return compat::write(full_w, "y", 1); }},
        {"accept", [&] { return compat::accept(listener.fd, nullptr, nullptr); }},
        {"connect",
         [&] {
           unique_fd c = tcp_socket();
           return compat::connect(c, as_sockaddr(backlog.l.addr), sizeof backlog.l.addr);
         }},
        {"poll",
         [&] {
           pollfd p{a, POLLIN, 0};
           return compat::poll(&p, 1, -1);
         }},
        {"select",
         [&] {
           fd_set r;
           FD_ZERO(&r);
           FD_SET(a, &r);
           return compat::select(a + 1, &r, nullptr, nullptr, nullptr);
         }},
        {"usleep", [] { return compat::usleep(2'000'000); }},
        // The usual EINTR retry loop ends: the error is not EINTR.
        {"recv in an EINTR loop",
         [&] {
           ssize_t r;
           do {
             r = compat::recv(a, buf, sizeof buf, 0);
           } while (r == -1 && errno == EINTR);
           return r;
         }},
    };
    for (auto& [name, fn] : calls) {
      const auto [o, took] = cancelled_during(fn);
      EXPECT_EQ(o, cancelled) << name;
      EXPECT_LT(took, 1s) << name;
    }
    // nanosleep says how much was left; sleep returns the whole seconds left (glibc rounds
    // down); the this_thread twins return early with errno set.
    timespec rem{};
    const auto [ns, ns_took] = cancelled_during([&] {
      const timespec req{2, 0};
      return compat::nanosleep(&req, &rem);
    });
    EXPECT_EQ(ns, cancelled);
    EXPECT_EQ(rem.tv_sec, 1);
    EXPECT_GT(rem.tv_nsec, 500'000'000);
    const auto [s, s_took] = cancelled_during([] { return compat::sleep(5); });
    EXPECT_EQ(s.result, 4);
    EXPECT_LT(s_took, 1s);
    const auto [tt, tt_took] = cancelled_during([] {
      errno = 0;
      compat::this_thread::sleep_for(5s);
      return errno == 0 ? 0 : -1;
    });
    EXPECT_EQ(tt, cancelled);
    EXPECT_LT(tt_took, 1s);
  });
}

// Cancellation fails only the calls that have to wait; a cancellation shield lets them wait.
TEST(CompatInterruption, ACancelledFiberStillGetsWhatIsReady) {
  auto [a, b] = unix_pair();
  balrog::run([&, &a = a, &b = b] {
    std::atomic<bool> go{false};
    auto f = balrog::spawn([&] {
      while (!go) compat::this_thread::yield();  // never throws, even once cancelled
      char c;
      EXPECT_EQ(call([&] { return compat::recv(a, &c, 1, 0); }), (outcome{-1, ECANCELED}));
      ASSERT_EQ(::write(b, "r", 1), 1);
      EXPECT_EQ(call([&] { return compat::recv(a, &c, 1, 0); }), (outcome{1, 0}));
      {
        balrog::this_fiber::cancellation_shield shield;
        later writer(20ms, [&] { ASSERT_EQ(::write(b, "s", 1), 1); });
        EXPECT_EQ(call([&] { return compat::recv(a, &c, 1, 0); }), (outcome{1, 0}));
        EXPECT_EQ(c, 's');
      }
      EXPECT_EQ(call([&] { return compat::usleep(1000); }), (outcome{-1, ECANCELED}));
    });
    f.cancel();
    go = true;
    f.join();
  });
}

// Code that retries on any error does not stall the shard: each failing call yields first.
TEST(CompatInterruption, RetryingACancelledCallLetsOtherFibersRun) {
  auto [a, b] = unix_pair();
  balrog::run([&, &a = a] {
    int others = 0;
    bool done = false;
    auto counter = balrog::spawn([&] {
      while (!done) {
        ++others;
        compat::this_thread::yield();
      }
    });
    auto stubborn = balrog::spawn([&] {
      char c;
      for (int i = 0; i < 100; ++i) EXPECT_EQ(compat::recv(a, &c, 1, 0), -1);
      done = true;
    });
    stubborn.cancel();
    stubborn.join();
    counter.join();
    EXPECT_GE(others, 50);
  });
}

TEST(CompatInterruption, DeadlineScopeEndsWaitsWithEtimedout) {
  auto [a, b] = unix_pair();
  full_listener backlog;
  balrog::run([&, &a = a] {
    const outcome expired{-1, ETIMEDOUT};
    char buf[8];
    const auto bounded = [](auto fn) {
      const balrog::deadline_scope scope(20ms);
      const stopwatch sw;
      const outcome o = call(fn);
      EXPECT_GE(sw.elapsed(), 15ms);
      EXPECT_LT(sw.elapsed(), 1s);
      return o;
    };
    EXPECT_EQ(bounded([&] { return compat::recv(a, buf, sizeof buf, 0); }), expired);
    EXPECT_EQ(bounded([&] { return compat::read(a, buf, sizeof buf); }), expired);
    EXPECT_EQ(bounded([&] {
                pollfd p{a, POLLIN, 0};
                return compat::poll(&p, 1, 5000);
              }),
              expired);
    EXPECT_EQ(bounded([&] {
                unique_fd c = tcp_socket();
                return compat::connect(c, as_sockaddr(backlog.l.addr), sizeof backlog.l.addr);
              }),
              expired);
    timespec rem{};
    EXPECT_EQ(bounded([&] {
                const timespec req{1, 0};
                return compat::nanosleep(&req, &rem);
              }),
              expired);
    EXPECT_EQ(rem.tv_sec, 0);
    EXPECT_GT(rem.tv_nsec, 500'000'000);
    // The call's own timeout, when earlier, is reported the call's own way.
    const balrog::deadline_scope scope(1s);
    pollfd p{a, POLLIN, 0};
    EXPECT_EQ(call([&] { return compat::poll(&p, 1, 10); }), (outcome{0, 0}));
    // Through the compat setsockopt, as rewritten code does: the compat layer remembers the
    // fd's timeouts from the recv calls above (balrog/compat/posix_fd.hpp).
    const timeval tv{0, 10'000};
    ASSERT_EQ(compat::setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    EXPECT_EQ(call([&] { return compat::recv(a, buf, sizeof buf, 0); }), (outcome{-1, EAGAIN}));
  });
}

namespace {

// Compat calls made by coroutine code: those that would wait fail with EDEADLK at once; those
// that need not wait succeed.
balrog::task<std::vector<outcome>> blocking_calls_in_a_coroutine(int idle, int ready,
                                                                 int listener) {
  std::vector<outcome> out;
  char c;
  out.push_back(call([&] { return compat::recv(idle, &c, 1, 0); }));
  out.push_back(call([&] { return compat::recv(ready, &c, 1, 0); }));
  pollfd p{idle, POLLIN, 0};
  out.push_back(call([&] { return compat::poll(&p, 1, 0); }));
  out.push_back(call([&] { return compat::poll(&p, 1, 10); }));
  out.push_back(call([&] { return compat::accept(listener, nullptr, nullptr); }));
  const timespec req{1, 0};
  timespec rem{};
  out.push_back(call([&] { return compat::nanosleep(&req, &rem); }));
  out.push_back({rem.tv_sec, 0});
  errno = 0;
  compat::this_thread::sleep_for(1s);
  out.push_back({0, errno});
  co_return out;
}

const std::vector<outcome> refused_in_coroutines{{-1, EDEADLK}, {1, 0},        {0, 0},
                                                 {-1, EDEADLK}, {-1, EDEADLK}, {-1, EDEADLK},
                                                 {1, 0},        {0, EDEADLK}};

}  // namespace

TEST(CompatInterruption, CoroutineCodeGetsEdeadlk) {
  auto [idle, idle_peer] = unix_pair();
  auto [ready, ready_peer] = unix_pair();
  tcp_listener l = tcp_listen();
  const auto fill = [&, &ready_peer = ready_peer] { ASSERT_EQ(::write(ready_peer, "x", 1), 1); };
  balrog::run([&, &idle = idle, &ready = ready] {
    const stopwatch sw;
    fill();
    // A coroutine task on the shard's loop...
    auto task = balrog::spawn_task(blocking_calls_in_a_coroutine(idle, ready, l.fd));
    EXPECT_EQ(task.join(), refused_in_coroutines);
    // ...and coroutine code driven by balrog::await on a fiber.
    fill();
    EXPECT_EQ(balrog::await(blocking_calls_in_a_coroutine(idle, ready, l.fd)),
              refused_in_coroutines);
    EXPECT_LT(sw.elapsed(), 500ms);
  });
  // balrog::await on a plain thread drives the coroutine on a private scheduler: still
  // coroutine code.
  fill();
  EXPECT_EQ(balrog::await(blocking_calls_in_a_coroutine(idle, ready, l.fd)), refused_in_coroutines);
}

// Signals delivered to the thread while a fiber waits are not reported as EINTR: the wait
// goes on (the signal handler here has no SA_RESTART).
TEST(CompatInterruption, SignalsNeverProduceEintr) {
  static std::atomic<int> signals{0};
  signals = 0;
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = [](int) { signals.fetch_add(1); };
  ::sigaction(SIGUSR1, &sa, &old);
  auto [a, b] = unix_pair();
  const pthread_t runtime_thread = ::pthread_self();
  balrog::run([&, &a = a, &b = b] {
    later pester(0ms, [&] {
      for (int i = 0; i < 10; ++i) {
        std::this_thread::sleep_for(3ms);
        ::pthread_kill(runtime_thread, SIGUSR1);
      }
      std::this_thread::sleep_for(5ms);
      ASSERT_EQ(::write(b, "z", 1), 1);
    });
    char c;
    EXPECT_EQ(call([&] { return compat::recv(a, &c, 1, 0); }), (outcome{1, 0}));
    pollfd p{a, POLLIN, 0};
    const stopwatch sw;
    later pester2(0ms, [&] {
      for (int i = 0; i < 5; ++i) {
        std::this_thread::sleep_for(3ms);
        ::pthread_kill(runtime_thread, SIGUSR1);
      }
    });
    EXPECT_EQ(call([&] { return compat::poll(&p, 1, 40); }), (outcome{0, 0}));
    const timespec req{0, 20'000'000};
    EXPECT_EQ(call([&] { return compat::nanosleep(&req, nullptr); }), (outcome{0, 0}));
    EXPECT_GE(sw.elapsed(), 60ms);
  });
  EXPECT_GT(signals.load(), 0);
  ::sigaction(SIGUSR1, &old, nullptr);
}
