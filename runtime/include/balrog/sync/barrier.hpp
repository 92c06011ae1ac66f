// balrog/sync/barrier.hpp — std::barrier's twin: a reusable phase barrier that fibers wait on.
//
// Each phase waits for `expected` arrivals; the last one runs the completion function (on
// its own fiber or thread, while the others still wait), then every waiter of the phase
// wakes and the next phase begins. arrive_and_drop() also lowers `expected` for the following
// phases. wait() and arrive_and_wait() suspend the fiber (balrog::mutex and
// balrog::condition_variable underneath): suspension points that throw balrog::cancelled and
// balrog::timeout_error (enclosing deadline_scope). Works on fibers, plain threads and across
// shards. balrog-gen's sync-types pass rewrites std::barrier<F> to it.
//
// Differences from std: the constructor is not constexpr; arriving more often than a phase
// expects throws balrog::usage_error (the standard calls it undefined).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <type_traits>
#include <utility>

#include "balrog/errors.hpp"
#include "balrog/sync/condition_variable.hpp"
#include "balrog/sync/mutex.hpp"

namespace balrog {

namespace detail {
struct barrier_no_completion {
  void operator()() noexcept {}
};
}  // namespace detail

template <class CompletionFunction = detail::barrier_no_completion>
class barrier {
 public:
  // Names the phase an arrive() belongs to; pass it to wait().
  class arrival_token {
   public:
    arrival_token(arrival_token&&) noexcept = default;
    arrival_token& operator=(arrival_token&&) noexcept = default;

   private:
    friend class barrier;
    explicit arrival_token(std::uint64_t phase) noexcept : phase_(phase) {}
    std::uint64_t phase_;
  };

  [[nodiscard]] static constexpr std::ptrdiff_t max() noexcept {
    return std::numeric_limits<std::ptrdiff_t>::max();
  }

  explicit barrier(std::ptrdiff_t expected, CompletionFunction f = CompletionFunction())
      : expected_(expected), left_(expected), completion_(std::move(f)) {
    if (expected < 0) throw usage_error("balrog::barrier: the expected count is negative");
  }
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  [[nodiscard]] arrival_token arrive(std::ptrdiff_t n = 1) {
    std::unique_lock lk(mutex_);
    return arrival_token(arrive_locked(n, 0));
  }
  void wait(arrival_token&& token) const {
    std::unique_lock lk(mutex_);
    next_phase_.wait(lk, [&] { return phase_ != token.phase_; });
  }
  void arrive_and_wait() { wait(arrive()); }
  void arrive_and_drop() {
    std::unique_lock lk(mutex_);
    (void)arrive_locked(1, 1);
  }

 private:
  // Counts n arrivals and `drop` fewer participants for later phases; the last arrival of the
  // phase completes it. Returns the phase the arrivals belong to.
  std::uint64_t arrive_locked(std::ptrdiff_t n, std::ptrdiff_t drop) {
    if (n <= 0 || n > left_) {
      throw usage_error("balrog::barrier::arrive: more arrivals than the phase expects");
    }
    const std::uint64_t phase = phase_;
    expected_ -= drop;
    left_ -= n;
    if (left_ == 0) {
      completion_();
      left_ = expected_;
      ++phase_;
      next_phase_.notify_all();
    }
    return phase;
  }

  mutable mutex mutex_;
  mutable condition_variable next_phase_;
  std::ptrdiff_t expected_;
  std::ptrdiff_t left_;
  std::uint64_t phase_ = 0;
  CompletionFunction completion_;
};

}  // namespace balrog
