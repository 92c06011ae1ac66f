// White-box: waking a plain thread (sync mode) costs a futex wake only when the thread sleeps on
// its futex. A thread that waits spins first (thread_context::park); a claim that lands during
// the spin is seen by the spin, and a FUTEX_WAKE then is a system call for nobody. A fiber and a
// thread in ping-pong (bench_remote_wake's "remote wake round trip") paid one per round trip.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "balrog/detail/execution_context.hpp"
#include "core/shard/thread_context.hpp"

namespace {

namespace det = balrog::detail;
using namespace std::chrono_literals;

// The scheduler state letter of thread `tid` of this process ('R', 'S', ...), from
// /proc/self/task/<tid>/stat: the field after the parenthesised name.
char thread_state(long tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(in, line);
  const std::size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

}  // namespace

TEST(ThreadWake, ClaimingAThreadThatIsNotAsleepOwesNoFutexWake) {
  // This thread's context, published (step 1 of the wait protocol) but not parked yet: the
  // state a waker meets while the thread spins before its sleep.
  det::execution_context& self = det::thread_context::current();
  self.prepare_wait();
  det::execution_context::wake_token token;
  ASSERT_TRUE(self.claim(det::wake_reason::notified, token));
  EXPECT_EQ(token.word, nullptr) << "a futex wake for a thread that is not asleep";
  EXPECT_EQ(token.ctx, nullptr);
  det::execution_context::wake(token);  // nothing to do
  EXPECT_EQ(self.wait(balrog::deadline::never()), det::wake_reason::notified);
}

TEST(ThreadWake, ClaimingASleepingThreadWakesItsFutex) {
  std::atomic<det::execution_context*> published{nullptr};
  std::atomic<long> tid{0};
  det::wake_reason why = det::wake_reason::timeout;
  std::thread sleeper([&] {
    det::execution_context& self = det::thread_context::current();
    self.prepare_wait();
    tid.store(::syscall(SYS_gettid), std::memory_order_relaxed);
    published.store(&self, std::memory_order_release);
    why = self.wait(balrog::deadline::never());  // spins a few µs, then sleeps on its futex
  });
  det::execution_context* ctx = nullptr;
  while ((ctx = published.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
  // Asleep: 'S' (its spin is pauses and sched_yields, which leave it runnable: 'R').
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (thread_state(tid.load(std::memory_order_relaxed)) != 'S') {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the waiter never went to sleep";
    std::this_thread::sleep_for(1ms);
  }
  det::execution_context::wake_token token;
  ASSERT_TRUE(ctx->claim(det::wake_reason::notified, token));
  EXPECT_NE(token.word, nullptr) << "no futex wake for a thread asleep on its futex";
  det::execution_context::wake(token);
  sleeper.join();  // hangs here if the wake was lost
  EXPECT_EQ(why, det::wake_reason::notified);
}
