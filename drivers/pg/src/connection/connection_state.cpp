#include "connection/connection_state.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/io.hpp"
#include "balrog/offload.hpp"
#include "balrog/pg/error.hpp"
#include "connection/result_errors.hpp"
#include "core/scheduler.hpp"
#include "wait/current_shard.hpp"
#include "wait/queue_awaiter.hpp"

namespace balrog::pg::detail {

namespace {

using balrog::detail::current_context;
using balrog::detail::execution_context;
using balrog::detail::scheduler;

// Sends PQcancel for the connection on a detached fiber (PQcancel blocks: it goes to the
// offload pool). Fire and forget: the statement's caller has already left.
void cancel_in_background(PGconn* conn) noexcept {
  PGcancel* handle = PQgetCancel(conn);
  if (handle == nullptr) return;
  try {
    spawn(
        [handle] {
          try {
            offload([handle] {
              char message[256] = {};
              PQcancel(handle, message, sizeof message);
              PQfreeCancel(handle);
            });
          } catch (...) {
            // cancelled or timed out waiting: the offloaded call still frees the handle
          }
        },
        {.name = "pg-cancel", .stack = stack_kind::dense})
        .detach();
  } catch (...) {
    PQfreeCancel(handle);  // no scheduler (sync mode teardown): skip the courtesy
  }
}

}  // namespace

// Waits until a request is done, or until it is asked to lead.
class connection_state::request_awaiter {
 public:
  explicit request_awaiter(request& r) noexcept : r_(r) {}
  bool await_ready() const noexcept { return r_.done || r_.lead; }
  void await_suspend(std::coroutine_handle<> h) {
    ctx_ = &current_context();
    ctx_->prepare_wait();
    r_.waiter = ctx_;
    ctx_->waiting_on = "pg-query";
    ctx_->suspend_coroutine(h, deadline::never());
  }
  void await_resume() {
    if (ctx_ == nullptr) return;
    r_.waiter = nullptr;
    ctx_->waiting_on = nullptr;
    balrog::detail::throw_if_failed(ctx_->last_wake);
  }

 private:
  request& r_;
  execution_context* ctx_ = nullptr;
};

connection_state::connection_state(connection_ptr c, connect_options o)
    : conn_(std::move(c)),
      options_(o),
      shard_(current_shard()),
      cache_enabled_(o.statement_cache > 0) {
  if (PQenterPipelineMode(conn_.get()) != 1) {
    throw_connection_error(conn_.get(), "entering pipeline mode");
  }
  in_pipeline_ = true;
}

void connection_state::check_usable(const char* call) const {
  if (shard_ != current_shard()) {
    throw usage_error(std::string("balrog::pg::connection::") + call +
                      ": a connection belongs to the shard that opened it; this is another thread");
  }
  if (conn_ == nullptr) {
    throw usage_error(std::string("balrog::pg::connection::") + call +
                      ": the connection is closed");
  }
  if (broken_) std::rethrow_exception(broken_reason_);
}

void connection_state::close() noexcept {
  fail_everything(std::make_exception_ptr(
      connection_error({"08003", "FATAL", "the connection was closed", "", ""})));
  conn_.reset();
}

void connection_state::mark_broken(std::exception_ptr why) noexcept {
  if (broken_) return;
  broken_ = true;
  broken_reason_ = why;
  fail_everything(why);
}

void connection_state::fail_everything(std::exception_ptr why) noexcept {
  auto fail = [&](std::deque<std::shared_ptr<request>>& q) {
    while (!q.empty()) {
      std::shared_ptr<request> r = std::move(q.front());
      q.pop_front();
      if (!r->done) {
        r->error = why;
        complete(*r);
      }
    }
  };
  fail(in_flight_);
  fail(queued_);
  notification_waiters_.wake_all();
}

bool connection_state::sendable(const request& r) const noexcept {
  return r.internal || exclusive_owner_ == 0 || r.owner == exclusive_owner_;
}

void connection_state::complete(request& r) noexcept {
  r.done = true;
  if (r.waiter != nullptr) r.waiter->try_wake(balrog::detail::wake_reason::notified);
}

void connection_state::kick_leader() noexcept {
  if (waiting_leader_ != nullptr) {
    waiting_leader_->try_wake(balrog::detail::wake_reason::notified);
  }
}

void connection_state::hand_over() noexcept {
  if (pumping_) return;
  auto offer = [&](std::deque<std::shared_ptr<request>>& q) {
    for (const auto& r : q) {
      if (r->done || r->abandoned || r->waiter == nullptr) continue;
      r->lead = true;
      if (r->waiter->try_wake(balrog::detail::wake_reason::notified)) return true;
      r->lead = false;  // it was leaving (timeout, cancel): ask the next one
    }
    return false;
  };
  if (offer(in_flight_) || offer(queued_)) return;
  // Nobody waits for a statement; a notification waiter may lead instead.
  notification_waiters_.wake_one();
}

namespace {

// libpq's parallel parameter arrays. Statements rarely have many parameters: up to
// `inline_count` they live on the stack, so sending a statement allocates nothing.
class param_arrays {
 public:
  explicit param_arrays(const std::vector<param>& params) {
    const std::size_t n = params.size();
    if (n > inline_count) {
      heap_values_ = std::make_unique<const char*[]>(n);
      heap_ints_ = std::make_unique<int[]>(2 * n);
      heap_types_ = std::make_unique<Oid[]>(n);
      values_ = heap_values_.get();
      lengths_ = heap_ints_.get();
      formats_ = heap_ints_.get() + n;
      types_ = heap_types_.get();
    }
    for (std::size_t i = 0; i < n; ++i) {
      const param& p = params[i];
      values_[i] = p.value ? p.value->data() : nullptr;
      lengths_[i] = p.value ? static_cast<int>(p.value->size()) : 0;
      formats_[i] = p.binary ? 1 : 0;
      types_[i] = p.oid;
    }
  }
  param_arrays(const param_arrays&) = delete;
  param_arrays& operator=(const param_arrays&) = delete;

  const char* const* values() const noexcept { return values_; }
  const int* lengths() const noexcept { return lengths_; }
  const int* formats() const noexcept { return formats_; }
  const Oid* types() const noexcept { return types_; }

 private:
  static constexpr std::size_t inline_count = 16;
  std::array<const char*, inline_count> inline_values_{};
  std::array<int, 2 * inline_count> inline_ints_{};
  std::array<Oid, inline_count> inline_types_{};
  std::unique_ptr<const char*[]> heap_values_;
  std::unique_ptr<int[]> heap_ints_;
  std::unique_ptr<Oid[]> heap_types_;
  const char** values_ = inline_values_.data();
  int* lengths_ = inline_ints_.data();
  int* formats_ = inline_ints_.data() + inline_count;
  Oid* types_ = inline_types_.data();
};

}  // namespace

void connection_state::send_one(request& r) {
  const param_arrays a(r.params);
  const int n = static_cast<int>(r.params.size());
  int ok = 1;
  switch (r.what) {
    case request::kind::query:
      ok = PQsendQueryParams(conn_.get(), r.sql.c_str(), n, a.types(), a.values(), a.lengths(),
                             a.formats(), r.result_format);
      break;
    case request::kind::prepare:
      ok = PQsendPrepare(conn_.get(), r.name.c_str(), r.sql.c_str(), n, a.types());
      break;
    case request::kind::query_prepared:
      ok = PQsendQueryPrepared(conn_.get(), r.name.c_str(), n, a.values(), a.lengths(), a.formats(),
                               r.result_format);
      break;
    case request::kind::sync:
      break;
  }
  if (ok != 1 || PQpipelineSync(conn_.get()) != 1) {
    throw_connection_error(conn_.get(), "sending a statement");
  }
}

void connection_state::send_ready() {
  for (auto it = queued_.begin(); it != queued_.end();) {
    if (!options_.pipeline && !in_flight_.empty()) return;  // take turns
    request& r = **it;
    if (r.abandoned && r.what != request::kind::prepare) {
      // Its caller left before it was sent: never send it.
      r.done = true;
      it = queued_.erase(it);
      continue;
    }
    if (!sendable(r)) {
      ++it;
      continue;
    }
    send_one(r);
    in_flight_.push_back(std::move(*it));
    it = queued_.erase(it);
  }
}

void connection_state::collect_notifications() {
  while (PGnotify* n = PQnotifies(conn_.get())) {
    notifications_.push_back({n->relname, n->extra != nullptr ? n->extra : "", n->be_pid});
    PQfreemem(n);
  }
  if (!notifications_.empty()) notification_waiters_.wake_all();
}

void connection_state::read_available() {
  if (PQconsumeInput(conn_.get()) == 0)
    throw_connection_error(conn_.get(), "reading from the server");
  collect_notifications();
  while (!in_flight_.empty() && PQisBusy(conn_.get()) == 0) {
    request& head = *in_flight_.front();
    result_ptr res(PQgetResult(conn_.get()));
    if (head.what == request::kind::sync || head.results_ended) {
      // Expect the Sync that closes this request.
      if (!res || PQresultStatus(res.get()) != PGRES_PIPELINE_SYNC) {
        throw_connection_error(conn_.get(),
                               "the server's replies are out of step with the pipeline");
      }
    } else if (!res) {
      head.results_ended = true;
      continue;
    } else {
      // A statement's result (one per statement; COPY is never pipelined).
      head.result = std::move(res);
      continue;
    }
    std::shared_ptr<request> done = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (done->result) {
      if (std::exception_ptr e = error_from_result(done->result.get())) {
        done->error = e;
        done->result.reset();
      }
    }
    if (done->depends_on && done->depends_on->error) done->error = done->depends_on->error;
    complete(*done);
  }
}

task<void> connection_state::pump(request* mine, deadline until) {
  for (;;) {
    // Results can be waiting only for statements sent before this turn. With nothing in flight,
    // a read right after sending finds nothing (EAGAIN) nearly always: the wait below catches
    // the reply instead, and anything unsolicited (a notice) is read with it.
    const bool results_may_wait = !in_flight_.empty() || mine == nullptr;
    send_ready();
    // Push everything out (reading meanwhile, so a server busy writing to us is not stuck).
    for (int f; (f = PQflush(conn_.get())) != 0;) {
      if (f < 0) throw_connection_error(conn_.get(), "sending to the server");
      co_await socket_writable(conn_.get(), deadline::never(), "sending to the server");
      read_available();
    }
    if (results_may_wait) read_available();
    if (mine != nullptr ? mine->done : !notifications_.empty()) co_return;
    if (mine != nullptr && in_flight_.empty()) {
      // Taking turns (pipeline off), the next statement can only go now that the last one is
      // done: go round and send it.
      const bool more = std::any_of(queued_.begin(), queued_.end(),
                                    [this](const auto& r) { return sendable(*r); });
      if (more) continue;
      // Nothing of ours can go out (another caller's exclusive section): wait to be led again.
      co_return;
    }
    // Wait for the server. A caller that queues work meanwhile wakes us (kick_leader), so its
    // statement joins the pipeline now instead of after our results.
    execution_context& self = current_context();
    waiting_leader_ = &self;
    struct clear {
      connection_state& s;
      ~clear() { s.waiting_leader_ = nullptr; }
    } guard{*this};
    // wait_input()'s check, written inline: this is the per-statement path, and a task frame
    // per wait is avoidable here. OpenSSL may hold input the socket does not show.
    if (tls_input_pending(conn_.get())) continue;
    if (mine != nullptr) {
      co_await socket_readable(conn_.get(), deadline::never(), "waiting for the server");
    } else {
      try {
        co_await socket_readable(conn_.get(), until, "waiting for the server");
      } catch (const timeout_error&) {
        if (until.expired()) co_return;  // our own deadline: no notification
        throw;
      }
    }
  }
}

task<void> connection_state::lead(request* mine, deadline until) {
  pumping_ = true;
  try {
    co_await pump(mine, until);
  } catch (const cancelled&) {
    pumping_ = false;  // the leader's caller gave up: the connection is fine
    throw;
  } catch (const timeout_error&) {
    pumping_ = false;
    throw;
  } catch (...) {
    pumping_ = false;
    mark_broken(std::current_exception());
    throw;
  }
  pumping_ = false;
}

std::shared_ptr<request> connection_state::through_cache(std::shared_ptr<request> req) {
  if (!cache_enabled_ || req->what != request::kind::query || req->params.empty()) return req;
  // A statement is prepared with its parameters' types: the same text sent with other types
  // (an int here, a string there) is another statement.
  // The key is built in a reused buffer: a cache hit allocates nothing.
  std::string& key = cache_key_;
  key.assign(req->sql);
  for (const param& p : req->params) {
    key += '\0';
    key.append(reinterpret_cast<const char*>(&p.oid), sizeof p.oid);
    key += p.binary ? 'b' : 't';
  }
  if (auto it = prepared_.find(key); it != prepared_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    req->what = request::kind::query_prepared;
    req->name = it->second.name;
    req->from_cache = true;
    return req;
  }
  // Texts seen once are remembered in a bounded set: an application that inlines literals
  // would otherwise grow it without end.
  if (seen_.size() >= 4 * options_.statement_cache) seen_.clear();
  if (++seen_[key] < 2) return req;  // prepare what is used at least twice
  seen_.erase(key);
  auto prep = std::make_shared<request>();
  prep->what = request::kind::prepare;
  prep->name = "balrog_s" + std::to_string(next_statement_++);
  prep->sql = req->sql;
  prep->params = req->params;  // the types; values are not sent with Parse
  for (param& p : prep->params) p.value.reset();
  prep->internal = true;
  prep->owner = req->owner;
  queued_.push_back(prep);
  lru_.push_front(key);
  prepared_[key] = {prep->name, lru_.begin()};
  if (prepared_.size() > options_.statement_cache) {
    const std::string victim = lru_.back();
    lru_.pop_back();
    auto dealloc = std::make_shared<request>();
    dealloc->sql = "DEALLOCATE " + prepared_[victim].name;
    dealloc->internal = true;
    queued_.push_back(dealloc);
    prepared_.erase(victim);
  }
  req->what = request::kind::query_prepared;
  req->name = prep->name;
  req->depends_on = prep;
  req->from_cache = true;
  return req;
}

void connection_state::cache_unusable() noexcept {
  cache_enabled_ = false;
  prepared_.clear();
  lru_.clear();
  seen_.clear();
}

task<void> connection_state::clean_up() {
  // Only an exclusive holder's leftovers reach here, and only once nobody pumps.
  const leftover what = std::exchange(pending_cleanup, leftover::none);
  if (what == leftover::copy_out) {
    while (co_await get_copy_data(conn_.get(), deadline::never())) {
    }
  }
  if (what != leftover::none) {
    while (co_await next_result(conn_.get(), deadline::never())) {
    }
    enter_pipeline();
  }
}

task<result_ptr> connection_state::run(std::shared_ptr<request> req) {
  check_usable("query");
  auto self = shared_from_this();  // the state outlives this call even if the owner lets go
  if (pending_cleanup != leftover::none && !pumping_ && exclusive_owner_ == 0) {
    pumping_ = true;
    try {
      co_await clean_up();
    } catch (...) {
      pumping_ = false;
      mark_broken(std::current_exception());
      throw;
    }
    pumping_ = false;
  }
  const bool retryable = !req->params.empty() && req->what == request::kind::query;
  req = through_cache(std::move(req));
  queued_.push_back(req);
  kick_leader();
  std::exception_ptr left;  // why the caller gives up, if it does
  try {
    while (!req->done) {
      if (!pumping_) {
        req->lead = false;
        co_await lead(req.get(), deadline::never());
        if (!req->done) co_await request_awaiter(*req);
        continue;
      }
      // Someone else leads. A hand-over that reached us after a newcomer took the lead is
      // stale: drop it, or request_awaiter would be ready at once and we would spin.
      req->lead = false;
      co_await request_awaiter(*req);
    }
  } catch (...) {
    left = std::current_exception();
  }
  if (left) {
    if (!req->done) {
      req->abandoned = true;
      req->waiter = nullptr;
      // If the server is running exactly this statement, ask it to stop.
      if (!in_flight_.empty() && in_flight_.front() == req) cancel_in_background(conn_.get());
    }
    hand_over();
    std::rethrow_exception(left);
  }
  hand_over();
  if (req->error) {
    // A statement cache the server cannot keep (a pooler in transaction mode): stop caching
    // and run the statement once more, unprepared.
    bool retry = false;
    if (req->from_cache && retryable) {
      try {
        std::rethrow_exception(req->error);
      } catch (const error& e) {
        retry = e.sqlstate() == "26000" || e.sqlstate() == "42P05";
      } catch (...) {
      }
    }
    if (!retry) std::rethrow_exception(req->error);
    cache_unusable();
    auto again = std::make_shared<request>();
    again->sql = req->sql;
    again->params = std::move(req->params);
    again->result_format = req->result_format;
    again->owner = req->owner;
    co_return co_await run(std::move(again));
  }
  co_return std::move(req->result);
}

task<std::uint64_t> connection_state::acquire_exclusive() {
  check_usable("begin");
  if (exclusive_owner_ == 0 && exclusive_waiters_.empty()) {
    exclusive_owner_ = next_token_++;
    co_return exclusive_owner_;
  }
  std::uint64_t token = 0;
  co_await queue_awaiter(exclusive_waiters_, &token, "pg-exclusive");
  co_return token;
}

void connection_state::release_exclusive(std::uint64_t token) noexcept {
  if (exclusive_owner_ != token) return;
  exclusive_owner_ = 0;
  while (balrog::detail::waiter* w = exclusive_waiters_.wake_one()) {
    exclusive_owner_ = next_token_++;
    *static_cast<std::uint64_t*>(w->payload) = exclusive_owner_;
    w->completed = true;
    break;
  }
  hand_over();  // statements held back by the section may go now
  kick_leader();
}

void connection_state::abandon_copy(std::uint64_t token, leftover what, const char* why) noexcept {
  if (exclusive_owner_ != token) return;
  if (what == leftover::copy_in && conn_ != nullptr) PQputCopyEnd(conn_.get(), why);
  pending_cleanup = what;
  release_exclusive(token);
}

void connection_state::release_with(std::uint64_t token, std::string sql) noexcept {
  if (exclusive_owner_ != token || conn_ == nullptr || broken_) return;
  try {
    auto r = std::make_shared<request>();
    r->sql = std::move(sql);
    r->internal = true;
    queued_.push_front(std::move(r));  // before anything the section held back
  } catch (...) {
    mark_broken(std::current_exception());  // cannot roll back: the connection is unusable
  }
  release_exclusive(token);
}

task<void> connection_state::drain_and_leave_pipeline(std::uint64_t token) {
  for (;;) {
    auto sync = std::make_shared<request>();
    sync->what = request::kind::sync;
    sync->owner = token;
    co_await run(sync);
    if (in_flight_.empty() && !pumping_) break;
  }
  if (PQexitPipelineMode(conn_.get()) != 1) {
    throw_connection_error(conn_.get(), "leaving pipeline mode");
  }
  in_pipeline_ = false;
}

void connection_state::enter_pipeline() noexcept {
  if (in_pipeline_ || conn_ == nullptr) return;
  if (PQenterPipelineMode(conn_.get()) == 1) {
    in_pipeline_ = true;
  } else {
    mark_broken(std::make_exception_ptr(connection_error(
        {"08006", "FATAL", "could not re-enter pipeline mode: " + last_error(conn_.get()), "",
         ""})));
  }
}

task<std::optional<notification>> connection_state::next_notification(deadline until) {
  check_usable("wait_notification");
  auto self = shared_from_this();
  for (;;) {
    if (!notifications_.empty()) {
      notification n = std::move(notifications_.front());
      notifications_.pop_front();
      co_return n;
    }
    if (until.expired()) co_return std::nullopt;
    if (!pumping_ && exclusive_owner_ == 0 && pending_cleanup == leftover::none) {
      // Idle: read the socket ourselves; a caller with a statement wakes us and takes over.
      try {
        co_await lead(nullptr, until);
      } catch (...) {
        hand_over();  // nobody is left to lead if the connection broke: then this does nothing
        throw;
      }
      hand_over();
      continue;  // a caller queued a statement and leads now; we wait below next time
    }
    // Someone else reads the socket and collects notifications for us.
    try {
      deadline_scope bound(until);
      co_await queue_awaiter(notification_waiters_, nullptr, "pg-notification");
    } catch (const timeout_error&) {
      if (!until.expired()) throw;
    }
    if (broken_) std::rethrow_exception(broken_reason_);
  }
}

}  // namespace balrog::pg::detail
