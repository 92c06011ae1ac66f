// balrog/pg/retry.hpp — running a transaction again when the server says a retry may succeed.
//
//   auto total = co_await pg::transact(conn, [&](pg::transaction& t) -> balrog::task<int> {
//     auto r = co_await t.query("select sum(balance) from account where owner = $1", who);
//     co_await t.execute("insert into audit values ($1, now())", who);
//     co_return r.scalar<int>();
//   }, {.level = pg::isolation::serializable});
//
//   // blocking style, on a fiber or a plain thread:
//   int total = pg::blocking::transact(conn, [&](pg::transaction& t) {
//     ...; return n;
//   });
//
// transact begins a transaction (retry_options::level, read_only), runs `fn` in it and commits.
// When `fn` or the COMMIT fails with serialization_failure (40001) or deadlock_detected
// (40P01) — the two conditions where PostgreSQL says "retry the transaction" — the
// transaction is rolled back, and after a short randomized backoff (exponential, with jitter,
// so that the transactions that collided do not collide again) everything runs again, up to
// retry_options::attempts times in all; then the last error is thrown. Every other error is
// thrown at once, commit_in_doubt included: a COMMIT whose outcome is unknown must not be
// run twice. `fn` may therefore run several times: it must have no effects outside the
// transaction (or tolerate repeats). Its return value is transact's.
//
// The pool form takes a connection for each attempt.
#pragma once

#include <chrono>
#include <exception>
#include <type_traits>
#include <utility>

#include "balrog/detail/coroutine.hpp"
#include "balrog/generated/blocking.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/pg/generated/blocking.hpp"
#include "balrog/pg/pool.hpp"
#include "balrog/sleep.hpp"
#include "balrog/task.hpp"

namespace balrog::pg {

struct retry_options {
  isolation level = isolation::serializable;
  bool read_only = false;
  int attempts = 5;  // in all, the first included; at least 1
  // The pause before the second attempt; it doubles after each one, up to max_backoff. Each
  // pause is a random duration between half of that and all of it.
  std::chrono::milliseconds backoff{5};
  std::chrono::milliseconds max_backoff{500};
};

namespace detail {

// True when `e` is serialization_failure or deadlock_detected (and another attempt is left).
bool worth_retrying(const std::exception_ptr& e, int attempt, const retry_options& o) noexcept;
// The pause before attempt `attempt + 1` (randomized).
std::chrono::microseconds backoff_before_next(int attempt, const retry_options& o) noexcept;

// What co_await of fn(transaction&) yields.
template <class F>
using transact_result_t = balrog::detail::await_result_t<std::invoke_result_t<F&, transaction&>&&>;

}  // namespace detail

namespace detail {

// One attempt on `conn`: BEGIN, fn, COMMIT.
template <class F>
task<transact_result_t<F>> attempt(connection& conn, F& fn, const retry_options& o) {
  transaction t = co_await conn.begin(o.level, o.read_only);
  if constexpr (std::is_void_v<transact_result_t<F>>) {
    co_await fn(t);
    co_await t.commit();
  } else {
    transact_result_t<F> value = co_await fn(t);
    co_await t.commit();
    co_return value;
  }
}

// Runs `one()` (an attempt, as a task) until it succeeds or fails for good.
template <class R, class One>
task<R> with_retries(One one, const retry_options& o) {
  for (int n = 1;; ++n) {
    std::exception_ptr failed;
    try {
      co_return co_await one();
    } catch (...) {
      failed = std::current_exception();  // the attempt's transaction, if open, rolled back
    }
    if (!worth_retrying(failed, n, o)) std::rethrow_exception(failed);
    co_await sleep_for(backoff_before_next(n, o));
  }
}

}  // namespace detail

template <class F>
task<detail::transact_result_t<F>> transact(connection& conn, F fn, retry_options o = {}) {
  using R = detail::transact_result_t<F>;
  // The task is made first: GCC 12 mishandles closure temporaries in a co_await expression.
  task<R> running = detail::with_retries<R>([&]() { return detail::attempt(conn, fn, o); }, o);
  co_return co_await std::move(running);
}

template <class F>
task<detail::transact_result_t<F>> transact(pool& p, F fn, retry_options o = {}) {
  using R = detail::transact_result_t<F>;
  task<R> running = detail::with_retries<R>(
      [&]() -> task<R> {
        pooled_connection conn = co_await p.acquire();
        co_return co_await detail::attempt(*conn, fn, o);
      },
      o);
  co_return co_await std::move(running);
}

namespace blocking {

// transact for blocking-style code: `fn(transaction&)` returns a value (or nothing) directly.
template <class F>
auto transact(connection& conn, F fn, retry_options o = {})
    -> std::invoke_result_t<F&, transaction&> {
  using R = std::invoke_result_t<F&, transaction&>;
  for (int attempt = 1;; ++attempt) {
    std::exception_ptr failed;
    try {
      transaction t = begin(conn, o.level, o.read_only);
      if constexpr (std::is_void_v<R>) {
        fn(t);
        commit(t);
        return;
      } else {
        R value = fn(t);
        commit(t);
        return value;
      }
    } catch (...) {
      failed = std::current_exception();
    }
    if (!detail::worth_retrying(failed, attempt, o)) std::rethrow_exception(failed);
    balrog::blocking::sleep_for(detail::backoff_before_next(attempt, o));
  }
}

}  // namespace blocking

}  // namespace balrog::pg
