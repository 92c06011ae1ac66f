#include "core/shard/thread_context.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <ctime>

#include "balrog/runtime.hpp"

namespace balrog::detail {

namespace {

// FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time: the clock steady_clock reads.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, deadline until) noexcept {
  timespec ts{};
  timespec* timeout = nullptr;
  if (!until.is_never()) {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(until.when().time_since_epoch())
            .count();
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    timeout = &ts;
  }
  // Spurious returns (EINTR, EAGAIN, timeout) are fine: the caller re-checks the word.
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET_PRIVATE, expected,
            timeout, nullptr, FUTEX_BITSET_MATCH_ANY);
}

}  // namespace

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

thread_context& thread_context::current() noexcept {
  thread_local thread_context ctx;
  return ctx;
}

bool thread_context::spin_on_state() noexcept {
  // As libstdc++'s atomic waits do (12 pauses, 4 yields): a wake that comes within a few µs,
  // as in a ping-pong with a fiber, then costs no sleep and no wake-up latency. Bounded. A
  // plain thread is no shard and has no runtime_options of its own: it spins as an idle shard
  // does by default (shard_options' idle_spin_*), so the numbers live in the one options struct.
  constexpr shard_options defaults{};
  constexpr unsigned pauses = defaults.idle_spin_pauses;
  constexpr unsigned yields = defaults.idle_spin_yields;
  for (unsigned i = 0; i < pauses; ++i) {
    if (state_.load(std::memory_order_relaxed) >= woken_base) return true;
    __builtin_ia32_pause();
  }
  for (unsigned i = 0; i < yields; ++i) {
    ::sched_yield();
    if (state_.load(std::memory_order_relaxed) >= woken_base) return true;
  }
  return false;
}

void thread_context::park(deadline until, wake_reason timeout_reason) {
  bool spin = true;
  for (;;) {
    const std::uint32_t s = state_.load(std::memory_order_acquire);
    if (s >= woken_base) return;
    if (until.expired()) {
      if (claim_self(timeout_reason)) return;
      continue;  // a waker claimed us meanwhile
    }
    if (spin && spin_on_state()) continue;
    spin = false;
    // Announce the sleep: a waker that claims `sleeping` owes a futex wake, one that claimed
    // `waiting` (this CAS then fails) does not.
    std::uint32_t expected = waiting;
    if (s == waiting &&
        !state_.compare_exchange_strong(expected, sleeping, std::memory_order_acq_rel)) {
      continue;  // claimed meanwhile
    }
    futex_wait(state_, sleeping, until);
  }
}

void thread_context::wake(std::atomic<std::uint32_t>* word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
            nullptr, 0);
}

void thread_context::unpark() noexcept { wake(&state_); }

}  // namespace balrog::detail
