// A host's turn (event_loop::run_once: the Python hub's) and the shard's idle spin: a signal
// that comes while the loop spins must still end the wait, as one that interrupts epoll does
// (EINTR). The host checks its handlers' flags after the turn (the hub: PyErr_CheckSignals);
// a signal handled during the spin, which is no system call it could interrupt, used to leave
// the loop asleep in epoll until something else woke it. balrog-wsgi's graceful stop hung that
// way under CPU load (its SIGTERM handler never ran: python_test_wsgi_django), where the
// spin's sched_yields take milliseconds.
//
// The signal is injected deterministically into the spin if the turn spins: this binary's
// sched_yield (which the runtime's calls resolve to) sends it to the calling thread when armed.
// A host's turn no longer spins; the signal then comes from another thread while it sleeps.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "balrog/runtime.hpp"
#include "core/shard/scheduler.hpp"

namespace {

std::atomic<bool> caught{false};
std::atomic<int> injected{0};
thread_local bool inject_signal_on_yield = false;

void on_signal(int /*signo*/) { caught.store(true, std::memory_order_relaxed); }

}  // namespace

// Interposes libc's: the runtime's ::sched_yield() calls land here.
extern "C" int sched_yield() noexcept {
  if (inject_signal_on_yield) {
    inject_signal_on_yield = false;
    injected.fetch_add(1, std::memory_order_relaxed);
    ::pthread_kill(::pthread_self(), SIGUSR2);  // unblocked: handled before this returns
  }
  return static_cast<int>(::syscall(SYS_sched_yield));
}

namespace {

class IdleSpinSignal : public ::testing::Test {
 protected:
  void SetUp() override {
    struct sigaction sa {};
    sa.sa_handler = &on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: as CPython installs its handlers
    ASSERT_EQ(::sigaction(SIGUSR2, &sa, &previous_), 0);
    caught = false;
    injected = 0;
  }
  void TearDown() override {
    inject_signal_on_yield = false;
    ::sigaction(SIGUSR2, &previous_, nullptr);
  }

  struct sigaction previous_ {};
};

using namespace std::chrono_literals;

// One host turn (capped at `cap`) with SIGUSR2 sent to the loop's thread while it goes idle:
// from the spin's first sched_yield if the turn spins, else by another thread 20 ms in (the
// loop then sleeps in epoll). Returns how long the turn took.
std::chrono::steady_clock::duration turn_with_signal_while_idle(balrog::shard_options options,
                                                                std::chrono::milliseconds cap) {
  balrog::detail::scheduler s(options);
  const pthread_t loop = ::pthread_self();
  std::atomic<bool> done{false};
  std::thread late([&] {
    std::this_thread::sleep_for(20ms);
    if (injected.load() == 0 && !done.load()) ::pthread_kill(loop, SIGUSR2);
  });
  inject_signal_on_yield = true;
  const auto start = std::chrono::steady_clock::now();
  s.run_turn(cap);
  const auto took = std::chrono::steady_clock::now() - start;
  inject_signal_on_yield = false;
  done = true;
  late.join();
  s.shut_down();
  return took;
}

TEST_F(IdleSpinSignal, ASignalWhileAHostsLoopGoesIdleEndsItsWait) {
  for (const unsigned pauses : {0U, 64U}) {
    balrog::shard_options options;
    options.idle_spin_pauses = pauses;
    options.idle_spin_yields = 4;
    const auto took = turn_with_signal_while_idle(options, 3s);
    EXPECT_TRUE(caught.load());
    // Ended by the signal, not by the cap (with the spin in a host's turn it slept the full
    // 3 s, the signal handled in the spin).
    EXPECT_LT(took, 1s) << "pauses " << pauses << ", signal sent "
                        << (injected.load() != 0 ? "in the spin" : "in epoll")
                        << ": the turn slept "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms with the signal already handled";
    caught = false;
    injected = 0;
  }
}

}  // namespace
