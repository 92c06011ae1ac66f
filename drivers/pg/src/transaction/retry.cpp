// The policy of balrog/pg/retry.hpp's transact: which errors earn another attempt, and how long
// to wait before it.
#include "balrog/pg/retry.hpp"

#include <algorithm>
#include <random>

namespace balrog::pg::detail {

bool worth_retrying(const std::exception_ptr& e, int attempt, const retry_options& o) noexcept {
  if (attempt >= o.attempts) return false;
  try {
    std::rethrow_exception(e);
  } catch (const serialization_failure&) {
    return true;
  } catch (const deadlock_detected&) {
    return true;
  } catch (...) {
    return false;  // commit_in_doubt above all: never run a COMMIT twice
  }
}

std::chrono::microseconds backoff_before_next(int attempt, const retry_options& o) noexcept {
  using std::chrono::microseconds;
  const auto base = std::chrono::duration_cast<microseconds>(o.backoff);
  const auto cap = std::chrono::duration_cast<microseconds>(o.max_backoff);
  microseconds full = base;
  for (int i = 1; i < attempt && full < cap; ++i) full *= 2;
  full = std::min(full, cap);
  if (full.count() <= 0) return microseconds(0);
  // Between half of it and all of it ("equal jitter"): the colliding transactions spread out.
  thread_local std::minstd_rand random(std::random_device{}());
  std::uniform_int_distribution<long long> pick(full.count() / 2, full.count());
  return microseconds(pick(random));
}

}  // namespace balrog::pg::detail
