// balrog/pg/pool.hpp — a pool of pg::connections for one shard.
//
//   auto pool = co_await balrog::pg::pool::create("host=/tmp dbname=app", {.max_size = 10});
//   {
//     auto conn = co_await pool.acquire();        // waits (bounded) when all 10 are in use
//     co_await conn->query("update ...");
//   }                                              // back to the pool
//   auto r = co_await pool.query("select 1");      // acquire + query + release
//
// Sizing. At most max_size connections are open; create() opens min_size of them first. When
// all are in use, acquire() waits in a FIFO queue of at most max_waiting callers (one more gets
// pool_exhausted at once, so an overloaded service sheds load instead of queueing without
// bound) until a connection comes back or its deadline passes (balrog::timeout_error).
// A waiter is handed the returned connection directly: nobody can overtake it.
//
// Health. A connection is handed out only in a known idle state: nothing of the last user's
// still queued or running, no transaction block open on the server, nothing LISTENed. Before
// reuse, acquire() finishes what the last user left (a dropped transaction's ROLLBACK, an
// abandoned COPY, a cancel still landing), rolls back a transaction block left open by hand
// (a script's BEGIN), UNLISTENs, and runs pool_options::reset; a connection that cannot be
// brought back (broken, still held by a live transaction or COPY object, a failed reset) is
// closed and acquire() moves on. One returned broken (that caller got pg::connection_error)
// or past max_lifetime is closed, and its slot refilled by the next acquire(), which connects a
// new one (and runs pool_options::configure on it). A connection idle longer than
// health_check_after is checked with an empty statement before it is handed out. All of this
// is bounded by acquire()'s deadline; when it passes (or the caller is cancelled) half-way,
// the connection is closed and its slot freed. Idle connections beyond min_size are closed
// after max_idle. There is no background task: all of this happens inside acquire() and when a
// connection is returned, so an idle pool costs nothing. The pool keeps statistics (stats()).
//
// Like a connection, a pool belongs to the shard that created it (other threads get
// balrog::usage_error). For several shards, make one pool per shard (per_shard_server.hpp).
// Destroying the pool closes idle connections; borrowed ones are closed when returned.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/task.hpp"

namespace balrog::pg {

namespace detail {
class pool_state;
struct pool_entry;
}  // namespace detail

struct pool_options {
  std::size_t min_size = 0;   // opened by create(), kept open while idle
  std::size_t max_size = 10;  // connections open at once, borrowed or idle
  // Callers waiting for a connection; one more gets pool_exhausted at once.
  std::size_t max_waiting = 10'000;
  // acquire() without a deadline waits at most this long (also bounded by a deadline_scope).
  std::chrono::milliseconds acquire_timeout{10'000};
  // A connection older than this is closed when it comes back (0: no limit). Spreads load to
  // new servers behind a balancer and bounds server-side memory growth.
  std::chrono::milliseconds max_lifetime{std::chrono::minutes(30)};
  // Idle connections beyond min_size are closed after this long unused (0: never).
  std::chrono::milliseconds max_idle{std::chrono::minutes(10)};
  // A connection unused for this long is checked (one empty statement, a round trip) before it
  // is handed out (0: always check; a negative value: never).
  std::chrono::milliseconds health_check_after{std::chrono::seconds(5)};
  connect_options connect{};
  // Runs on each new connection, after it connected and before its first user gets it (SET
  // search_path, register types...). A failure is the acquire()'s failure.
  std::function<task<void>(connection&)> configure{};
  // Runs on a connection that comes back, before its next user gets it, after the pool has
  // brought it back to an idle session (RESET ALL, DISCARD TEMP...). A failure closes it.
  std::function<task<void>(connection&)> reset{};
};

struct pool_stats {
  std::size_t open = 0;  // borrowed + idle + being connected
  std::size_t idle = 0;
  std::size_t waiting = 0;     // callers inside acquire() waiting for a connection
  std::uint64_t connects = 0;  // connections opened over the pool's life
  std::uint64_t connect_failures = 0;
  std::uint64_t discarded_broken = 0;  // came back broken, or failed a health check
  std::uint64_t discarded_old = 0;     // past max_lifetime or max_idle
  std::uint64_t acquire_timeouts = 0;
  std::uint64_t rejected = 0;  // pool_exhausted
};

// acquire() found max_waiting callers already waiting.
class pool_exhausted : public error {
 public:
  using error::error;
};

class pooled_connection;

class pool {
 public:
  // Opens min_size connections (one after another; the first failure throws).
  static task<pool> create(std::string conninfo, pool_options options = {});

  pool(pool&&) noexcept;
  pool& operator=(pool&&) noexcept;
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  ~pool();

  // A connection for the caller's exclusive use until the handle is dropped. Throws
  // balrog::timeout_error (deadline passed while waiting or connecting), pool_exhausted,
  // connection_error (a new connection could not be opened).
  task<pooled_connection> acquire();
  task<pooled_connection> acquire(deadline until);

  // One statement on a connection borrowed for its duration.
  task<result> query(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<result> query(std::string sql, const A& first, const More&... more) {
    return query(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }

  // One statement run for its effect, on a connection borrowed for its duration: the number of
  // rows it affected.
  task<std::uint64_t> execute(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<std::uint64_t> execute(std::string sql, const A& first, const More&... more) {
    return execute(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }

  [[nodiscard]] pool_stats stats() const;
  [[nodiscard]] const pool_options& options() const;

 private:
  explicit pool(std::shared_ptr<detail::pool_state> s) noexcept;
  std::shared_ptr<detail::pool_state> state_;
};

// A borrowed connection; returns it to the pool when destroyed (or closes it, see pool).
class pooled_connection {
 public:
  pooled_connection(pooled_connection&&) noexcept;
  pooled_connection& operator=(pooled_connection&&) noexcept;
  pooled_connection(const pooled_connection&) = delete;
  pooled_connection& operator=(const pooled_connection&) = delete;
  ~pooled_connection();

  connection& operator*() const noexcept;
  connection* operator->() const noexcept;
  // Closes the connection instead of returning it (e.g. after changing session state that the
  // next user must not inherit).
  void discard() noexcept;

 private:
  friend class pool;
  friend class detail::pool_state;
  pooled_connection(std::shared_ptr<detail::pool_state> s,
                    std::unique_ptr<detail::pool_entry> e) noexcept;
  void give_back() noexcept;
  std::shared_ptr<detail::pool_state> state_;
  std::unique_ptr<detail::pool_entry> entry_;
};

}  // namespace balrog::pg
