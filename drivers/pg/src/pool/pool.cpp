// pg::pool: the waiting queue, lazy refill and health rules that pool.hpp promises.
#include "balrog/pg/pool.hpp"

#include <algorithm>
#include <utility>

#include "balrog/errors.hpp"
#include "connection/connection_state.hpp"
#include "wait/current_shard.hpp"
#include "wait/queue_awaiter.hpp"

namespace balrog::pg {

namespace detail {

using steady = std::chrono::steady_clock;

struct pool_entry {
  connection conn;
  steady::time_point created;
  steady::time_point last_used;
  bool borrowed_before = false;  // the reset hook runs before it is handed out again
};

class pool_state : public std::enable_shared_from_this<pool_state> {
 public:
  pool_state(std::string conninfo, pool_options o)
      : options(o), conninfo_(std::move(conninfo)), shard_(current_shard()) {}

  task<std::unique_ptr<pool_entry>> acquire(deadline until);
  void give_back(std::unique_ptr<pool_entry> e, bool discard) noexcept;
  void close() noexcept;
  void check_shard(const char* call) const;
  [[nodiscard]] pool_stats stats() const noexcept {
    pool_stats s = stats_;
    s.open = open_;
    s.idle = idle_.size();
    s.waiting = waiting_;
    return s;
  }

  const pool_options options;

 private:
  task<std::unique_ptr<pool_entry>> open_new(deadline until);
  // Makes an idle or returned connection ready for its next user within `until`: finishes what
  // the last user left (settle: a ROLLBACK, an abandoned COPY, an open transaction block, a
  // LISTEN), checks its health when it was idle long, runs the reset hook. False: it was not
  // fit and has been retired. Interrupted (deadline, cancellation), it is retired too, and the
  // interruption rethrown: its slot is never lost (review C5).
  task<bool> ready_for_use(std::unique_ptr<pool_entry>& e, deadline until);
  [[nodiscard]] bool too_old(const pool_entry& e, steady::time_point now) const noexcept {
    return options.max_lifetime.count() > 0 && now - e.created >= options.max_lifetime;
  }
  [[nodiscard]] bool needs_check(const pool_entry& e, steady::time_point now) const noexcept {
    return options.health_check_after.count() >= 0 &&
           now - e.last_used >= options.health_check_after;
  }
  // Closes a connection and frees its slot; a waiter may now connect a new one.
  void retire(std::unique_ptr<pool_entry> e, std::uint64_t& counter) noexcept;
  void trim_idle(steady::time_point now) noexcept;

  std::string conninfo_;
  std::uint64_t shard_;                            // the owning scheduler's serial
  std::vector<std::unique_ptr<pool_entry>> idle_;  // back: most recently returned
  std::size_t open_ = 0;
  std::size_t waiting_ = 0;
  balrog::detail::wait_queue waiters_;  // payload: std::unique_ptr<pool_entry>*, the hand-over
  bool closed_ = false;
  pool_stats stats_;
};

void pool_state::check_shard(const char* call) const {
  if (shard_ != current_shard()) {
    throw usage_error(std::string("balrog::pg::pool::") + call +
                      ": a pool belongs to the shard that created it");
  }
  if (closed_) throw usage_error(std::string("balrog::pg::pool::") + call + ": the pool is gone");
}

task<std::unique_ptr<pool_entry>> pool_state::acquire(deadline until) {
  check_shard("acquire");
  auto keep = shared_from_this();
  for (;;) {
    if (closed_) throw usage_error("balrog::pg::pool::acquire: the pool is gone");
    const steady::time_point now = steady::now();
    trim_idle(now);
    while (!idle_.empty()) {
      std::unique_ptr<pool_entry> e = std::move(idle_.back());
      idle_.pop_back();
      if (co_await ready_for_use(e, until)) co_return e;
    }
    if (open_ < options.max_size) co_return co_await open_new(until);
    if (waiting_ >= options.max_waiting) {
      ++stats_.rejected;
      throw pool_exhausted(error::fields{
          .sqlstate = "",
          .severity = "ERROR",
          .primary = "connection pool exhausted: " + std::to_string(options.max_size) +
                     " connections in use and " + std::to_string(waiting_) +
                     " callers already waiting (pool_options::max_waiting)",
          .detail = "",
          .hint = "raise max_size or max_waiting, or shed load earlier"});
    }
    std::unique_ptr<pool_entry> handed;
    ++waiting_;
    try {
      queue_awaiter wait(waiters_, &handed, "pg-pool", until);
      co_await wait;
    } catch (const timeout_error&) {
      --waiting_;
      ++stats_.acquire_timeouts;
      throw;
    } catch (...) {
      --waiting_;
      throw;
    }
    --waiting_;
    if (handed && co_await ready_for_use(handed, until)) co_return handed;
    // Woken without a (fit) connection: a slot was freed. Go round: take an idle one or
    // connect.
  }
}

task<std::unique_ptr<pool_entry>> pool_state::open_new(deadline until) {
  ++open_;  // the slot is ours while we connect
  try {
    connect_options co = options.connect;
    if (!until.is_never()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until.when() - steady::now());
      if (left.count() <= 0) throw timeout_error("balrog::pg::pool::acquire: deadline passed");
      if (co.timeout.count() == 0 || left < co.timeout) co.timeout = left;
    }
    auto e = std::make_unique<pool_entry>();
    // GCC 12 relocates class temporaries inside a co_await full-expression: make the task first.
    task<connection> connecting = connection::connect(conninfo_, co);
    e->conn = co_await std::move(connecting);
    e->created = e->last_used = steady::now();
    ++stats_.connects;
    if (options.configure) {
      deadline_scope bound(until);
      task<void> configuring = options.configure(e->conn);
      co_await std::move(configuring);
    }
    co_return e;
  } catch (...) {
    --open_;
    ++stats_.connect_failures;
    // The slot is free again: let a waiter try (the server may be back by then).
    waiters_.wake_one();
    throw;
  }
}

task<bool> pool_state::ready_for_use(std::unique_ptr<pool_entry>& e, deadline until) {
  const steady::time_point now = steady::now();
  if (!e->conn.is_open()) {
    retire(std::move(e), stats_.discarded_broken);
    co_return false;
  }
  if (too_old(*e, now)) {
    retire(std::move(e), stats_.discarded_old);
    co_return false;
  }
  bool fit = false;
  std::exception_ptr interrupted;
  try {
    deadline_scope bound(until);
    connection_state& s = *e->conn.state_;
    const bool idle_session = s.settled();
    fit = co_await s.settle(until);
    // A connection that just did a round trip to settle is alive; else check one idle long.
    if (fit && idle_session && needs_check(*e, now)) {
      co_await e->conn.query("");  // an empty statement: one round trip, no plan, no snapshot
    }
    if (fit && e->borrowed_before && options.reset) {
      task<void> resetting = options.reset(e->conn);
      co_await std::move(resetting);
    }
    fit = fit && e->conn.is_open();
  } catch (const timeout_error&) {
    interrupted = std::current_exception();
  } catch (const cancelled&) {
    interrupted = std::current_exception();
  } catch (...) {
    fit = false;  // a failed check or reset hook: not fit for the next user
  }
  if (interrupted || !fit) retire(std::move(e), stats_.discarded_broken);
  if (interrupted) std::rethrow_exception(interrupted);
  co_return fit;
}

void pool_state::retire(std::unique_ptr<pool_entry> e, std::uint64_t& counter) noexcept {
  ++counter;
  e->conn.close();
  e.reset();
  --open_;
  waiters_.wake_one();
}

void pool_state::trim_idle(steady::time_point now) noexcept {
  if (options.max_idle.count() <= 0) return;
  // idle_ is ordered by last use, oldest first: trim from the front.
  while (idle_.size() > 0 && open_ > options.min_size &&
         now - idle_.front()->last_used >= options.max_idle) {
    std::unique_ptr<pool_entry> e = std::move(idle_.front());
    idle_.erase(idle_.begin());
    retire(std::move(e), stats_.discarded_old);
  }
}

void pool_state::give_back(std::unique_ptr<pool_entry> e, bool discard) noexcept {
  const steady::time_point now = steady::now();
  if (closed_ || discard) {
    retire(std::move(e), stats_.discarded_old);
    return;
  }
  if (!e->conn.is_open()) {
    retire(std::move(e), stats_.discarded_broken);
    return;
  }
  if (too_old(*e, now)) {
    retire(std::move(e), stats_.discarded_old);
    return;
  }
  e->last_used = now;
  e->borrowed_before = true;
  // Hand it straight to the first waiter, so a newcomer cannot overtake the queue.
  if (balrog::detail::waiter* w = waiters_.wake_one()) {
    *static_cast<std::unique_ptr<pool_entry>*>(w->payload) = std::move(e);
    w->completed = true;
    return;
  }
  idle_.push_back(std::move(e));
}

void pool_state::close() noexcept {
  closed_ = true;
  for (auto& e : idle_) e->conn.close();
  open_ -= idle_.size();
  idle_.clear();
  waiters_.wake_all();  // they find the pool gone
}

}  // namespace detail

// --- pool -----------------------------------------------------------------------------------

pool::pool(std::shared_ptr<detail::pool_state> s) noexcept : state_(std::move(s)) {}
pool::pool(pool&&) noexcept = default;
pool& pool::operator=(pool&& other) noexcept {
  if (this != &other) {
    if (state_) state_->close();
    state_ = std::move(other.state_);
  }
  return *this;
}
pool::~pool() {
  if (state_) state_->close();
}

task<pool> pool::create(std::string conninfo, pool_options options) {
  if (options.max_size == 0) throw usage_error("balrog::pg::pool: max_size must be at least 1");
  if (options.min_size > options.max_size) {
    throw usage_error("balrog::pg::pool: min_size (" + std::to_string(options.min_size) +
                      ") exceeds max_size (" + std::to_string(options.max_size) + ")");
  }
  auto state = std::make_shared<detail::pool_state>(std::move(conninfo), options);
  pool p(state);
  std::vector<pooled_connection> first;
  first.reserve(options.min_size);
  for (std::size_t i = 0; i < options.min_size; ++i) {
    pooled_connection c = co_await p.acquire();
    first.push_back(std::move(c));
  }
  first.clear();  // all back to idle
  co_return p;
}

task<pooled_connection> pool::acquire() {
  if (!state_) throw usage_error("balrog::pg::pool::acquire: moved-from pool");
  return acquire(deadline(state_->options.acquire_timeout));
}

task<pooled_connection> pool::acquire(deadline until) {
  if (!state_) throw usage_error("balrog::pg::pool::acquire: moved-from pool");
  auto keep = state_;
  std::unique_ptr<detail::pool_entry> e = co_await keep->acquire(until);
  co_return pooled_connection(std::move(keep), std::move(e));
}

task<result> pool::query(std::string sql, std::vector<param> params) {
  pooled_connection c = co_await acquire();
  task<result> running = c->query(std::move(sql), std::move(params));
  co_return co_await std::move(running);
}

task<std::uint64_t> pool::execute(std::string sql, std::vector<param> params) {
  pooled_connection c = co_await acquire();
  task<std::uint64_t> running = c->execute(std::move(sql), std::move(params));
  co_return co_await std::move(running);
}

pool_stats pool::stats() const { return state_ ? state_->stats() : pool_stats{}; }
const pool_options& pool::options() const {
  if (!state_) throw usage_error("balrog::pg::pool::options: moved-from pool");
  return state_->options;
}

// --- pooled_connection ----------------------------------------------------------------------

pooled_connection::pooled_connection(std::shared_ptr<detail::pool_state> s,
                                     std::unique_ptr<detail::pool_entry> e) noexcept
    : state_(std::move(s)), entry_(std::move(e)) {}
pooled_connection::pooled_connection(pooled_connection&&) noexcept = default;
pooled_connection& pooled_connection::operator=(pooled_connection&& other) noexcept {
  if (this != &other) {
    give_back();
    state_ = std::move(other.state_);
    entry_ = std::move(other.entry_);
  }
  return *this;
}
pooled_connection::~pooled_connection() { give_back(); }

void pooled_connection::give_back() noexcept {
  if (state_ && entry_) state_->give_back(std::move(entry_), false);
  state_.reset();
}

void pooled_connection::discard() noexcept {
  if (state_ && entry_) state_->give_back(std::move(entry_), true);
  state_.reset();
}

connection& pooled_connection::operator*() const noexcept { return entry_->conn; }
connection* pooled_connection::operator->() const noexcept { return &entry_->conn; }

}  // namespace balrog::pg
