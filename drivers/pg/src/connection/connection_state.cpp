// connection_state: the request queue, leading, sending and reading (see the header).
#include "connection/connection_state.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <limits>

#include "balrog/detail/uninterruptible.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/io.hpp"
#include "balrog/offload.hpp"
#include "balrog/pg/error.hpp"
#include "connection/failure_kind.hpp"
#include "connection/result_errors.hpp"
#include "connection/statement_text.hpp"
#include "wait/current_shard.hpp"
#include "wait/queue_awaiter.hpp"
#include "wait/readable_or_writable.hpp"

namespace balrog::pg::detail {

namespace {

using balrog::detail::current_context;
using balrog::detail::execution_context;

int socket_of(PGconn* conn) {
  const int fd = PQsocket(conn);
  if (fd < 0) throw_connection_error(conn, "the connection has no socket");
  return fd;
}

std::exception_ptr closed_error() {
  return std::make_exception_ptr(
      connection_error({"08003", "FATAL", "the connection was closed", "", ""}));
}

// libpq's protocol limit on parameters (a 16-bit count on the wire).
constexpr std::size_t max_parameters = 65535;

// Sent ahead of a statement to bound it by the caller's deadline: statement_timeout becomes
// $1 ms unless the session's own is shorter (and non-zero). The second form also saves the
// session's value, for a statement inside a transaction block, where the change would outlive
// the statement; `restore_timeout` puts it back. set_config(..., true) lasts until the end of
// the (implicit) transaction, so outside a block nothing needs restoring.
constexpr const char* lower_timeout =
    "select set_config('statement_timeout', case when "
    "current_setting('statement_timeout')::interval > '0' and "
    "current_setting('statement_timeout')::interval <= ($1::text || 'ms')::interval then "
    "current_setting('statement_timeout') else $1::text || 'ms' end, true)";
constexpr const char* save_and_lower_timeout =
    "select set_config('balrog.saved_statement_timeout', current_setting('statement_timeout'), "
    "true), set_config('statement_timeout', case when "
    "current_setting('statement_timeout')::interval > '0' and "
    "current_setting('statement_timeout')::interval <= ($1::text || 'ms')::interval then "
    "current_setting('statement_timeout') else $1::text || 'ms' end, true)";
constexpr const char* restore_timeout =
    "select set_config('statement_timeout', current_setting('balrog.saved_statement_timeout'), "
    "true)";

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
      options_(std::move(o)),
      shard_(current_shard()),
      cache_enabled_(options_.statement_cache > 0) {
  if (PQenterPipelineMode(conn_.get()) != 1) {
    throw_connection_error(conn_.get(), "entering pipeline mode");
  }
  in_pipeline_ = true;
  if (options_.on_notice) PQsetNoticeReceiver(conn_.get(), &connection_state::receive_notice, this);
}

void connection_state::receive_notice(void* self, const PGresult* res) noexcept {
  auto field = [res](int code) {
    const char* v = PQresultErrorField(res, code);
    return std::string(v != nullptr ? v : "");
  };
  try {
    static_cast<connection_state*>(self)->options_.on_notice(
        notice{field(PG_DIAG_SEVERITY_NONLOCALIZED), field(PG_DIAG_SQLSTATE),
               field(PG_DIAG_MESSAGE_PRIMARY), field(PG_DIAG_MESSAGE_DETAIL),
               field(PG_DIAG_MESSAGE_HINT)});
  } catch (...) {
    // a receiver's exception cannot cross libpq: dropped, as documented
  }
}

void connection_state::check_usable(const char* call) const {
  if (shard_ != current_shard()) {
    throw usage_error(std::string("balrog::pg::connection::") + call +
                      ": a connection belongs to the shard that opened it; this is another thread");
  }
  if (conn_ == nullptr || closed_) {
    throw usage_error(std::string("balrog::pg::connection::") + call +
                      ": the connection is closed");
  }
  if (broken_) std::rethrow_exception(broken_reason_);
}

void connection_state::check_not_holder(const char* call) const {
  if (exclusive_owner_ != 0 && holder_ != nullptr && holder_ == &current_context()) {
    throw usage_error(std::string("balrog::pg::connection::") + call +
                      ": this fiber holds the connection's transaction (or COPY); the call would "
                      "wait for it forever. Use the transaction's own functions "
                      "(transaction::query, copy_in, copy_out, execute_script...)");
  }
}

void connection_state::close() noexcept {
  if (conn_ == nullptr || closed_) return;
  closed_ = true;
  if (pumping_ && !broken_) {
    // Someone waits on the socket (a leader, or a COPY on it). Shutting the socket down wakes it
    // through the reactor; it finds the connection broken and leaves. The PGconn is freed with
    // this state, once nobody uses it any more.
    ::shutdown(PQsocket(conn_.get()), SHUT_RDWR);
    mark_broken(closed_error());
    return;
  }
  mark_broken(closed_error());
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
      if (r->done) continue;
      // The server answered before the connection went (a COMMIT's tag, a FATAL error for it)
      // and only the Sync's reply is missing: that answer is the outcome.
      std::exception_ptr answer = r->result ? error_from_result(r->result.get()) : nullptr;
      if (r->keep_error_result && r->result) {
        r->answered = true;  // the result as libpq gave it, error or not
      } else if (answer || (r->result && r->queries_ended > r->main_query)) {
        r->answered = true;
        if (answer) {
          r->error = answer;
          r->result.reset();
        }
      } else {
        r->error = why;
      }
      complete(*r);
    }
  };
  fail(in_flight_);
  fail(queued_);
  cancel_target_.reset();
  cancel_waiters_.wake_all();
  notification_waiters_.wake_all();
  kick_leader();
}

bool connection_state::sends_held() const noexcept {
  return cancel_in_progress_ || (cancel_target_ != nullptr && !cancel_target_->done);
}

bool connection_state::sendable(const request& r) const noexcept {
  return !sends_held() && r.owner == exclusive_owner_;
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

// --- sections ------------------------------------------------------------------------------

void connection_state::end_section(std::uint64_t token) noexcept {
  if (exclusive_owner_ != token) return;
  exclusive_owner_ = 0;
  holder_ = nullptr;
  section_closing_ = false;
}

task<std::uint64_t> connection_state::acquire_exclusive(const char* call) {
  check_usable(call);
  check_not_holder(call);
  auto self = shared_from_this();
  const std::uint64_t token = next_token_++;
  if (exclusive_owner_ == 0 && queued_.empty() && pending_cleanup_ == leftover::none) {
    exclusive_owner_ = token;  // nobody is ahead: no need to wait for a turn
  } else {
    auto r = std::make_shared<request>();
    r->what = request::kind::section;
    r->token = token;
    queued_.push_back(r);
    kick_leader();
    std::exception_ptr failed;
    try {
      co_await wait_for(r);
    } catch (...) {
      failed = std::current_exception();
    }
    if (failed) {
      // Granted as the caller gave up: nobody will use it.
      if (exclusive_owner_ == token) release_exclusive(token);
      std::rethrow_exception(failed);
    }
    if (r->error) std::rethrow_exception(r->error);
  }
  holder_ = &current_context();
  co_return token;
}

void connection_state::release_exclusive(std::uint64_t token) noexcept {
  if (exclusive_owner_ != token) return;
  end_section(token);
  hand_over();  // statements and sections held back may go now
  kick_leader();
}

void connection_state::close_section(std::uint64_t token, std::string sql) noexcept {
  if (exclusive_owner_ != token || conn_ == nullptr || broken_) return;
  try {
    auto r = std::make_shared<request>();
    r->sql = std::move(sql);
    r->owner = token;
    r->internal = true;
    r->ends_section = true;
    r->control = true;
    queued_.push_back(std::move(r));
  } catch (...) {
    mark_broken(std::current_exception());  // cannot roll back: the connection is unusable
    return;
  }
  section_closing_ = true;
  holder_ = nullptr;
  if (!pumping_) {
    push_out_now();
    hand_over();
  } else {
    kick_leader();
  }
}

void connection_state::note_holder(std::uint64_t token) noexcept {
  if (exclusive_owner_ == token) holder_ = &current_context();
}

// --- waiting and leading -------------------------------------------------------------------

void connection_state::apply_deadline(request& r) const {
  // COMMIT / ROLLBACK are always queued: giving up on them is handled by their callers.
  if (r.ends_section) return;
  const deadline d = current_deadline();
  if (d.is_never()) return;
  const auto left = d.when() - clock::now();
  if (left <= clock::duration::zero()) {
    throw timeout_error("balrog::pg: the deadline passed before the statement was sent");
  }
  if (!options_.deadline_statement_timeout || r.control || r.internal) return;
  if (r.what != request::kind::query || !takes_statement_timeout(r.sql)) return;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  if (ms >= std::numeric_limits<int>::max()) return;
  r.statement_timeout_ms = static_cast<int>(ms);
  r.caller_deadline = d;
}

void connection_state::check_statement(const request& r, const char* call) const {
  if (r.params.size() > max_parameters) {
    throw usage_error(std::string("balrog::pg::connection::") + call + ": " +
                      std::to_string(r.params.size()) +
                      " parameters; the protocol allows at most 65535");
  }
  for (const param& p : r.params) {
    if (!p.binary && p.value && p.value->find('\0') != std::string::npos) {
      throw_error({"22021", "ERROR",
                   "a text parameter contains a NUL byte, which text values cannot hold",
                   "send bytes as pg::bytea (binary)", ""});
    }
  }
  if (r.what == request::kind::query && is_copy_through_client(r.sql)) {
    throw usage_error(std::string("balrog::pg::connection::") + call +
                      ": COPY ... FROM STDIN / TO STDOUT cannot run through query(); use "
                      "copy_in() / copy_out()");
  }
}

task<result_ptr> connection_state::run(std::shared_ptr<request> req, const char* call) {
  check_usable(call);
  if (req->owner == 0 && req->what != request::kind::sync && !req->internal) {
    check_not_holder(call);
  }
  check_statement(*req, call);
  apply_deadline(*req);
  auto self = shared_from_this();  // the state outlives this call even if the owner lets go
  req = through_cache(std::move(req));
  queued_.push_back(req);
  kick_leader();
  co_await wait_for(req);
  if (req->error && retry_after_cache_error(*req)) {
    auto again = std::make_shared<request>();
    again->sql = req->sql;
    again->params = std::move(req->params);
    again->result_format = req->result_format;
    again->owner = req->owner;
    co_return co_await run(std::move(again), call);
  }
  if (req->error) std::rethrow_exception(req->error);
  co_return std::move(req->result);
}

task<void> connection_state::wait_for(const std::shared_ptr<request>& r) {
  std::exception_ptr left;  // why the caller gives up, if it does
  try {
    while (!r->done) {
      if (!pumping_) {
        r->lead = false;
        co_await lead(r.get(), deadline::never());
        if (!r->done) co_await request_awaiter(*r);
        continue;
      }
      // Someone else leads. A hand-over that reached us after a newcomer took the lead is
      // stale: drop it, or request_awaiter would be ready at once and we would spin.
      r->lead = false;
      co_await request_awaiter(*r);
    }
  } catch (...) {
    left = std::current_exception();
  }
  if (left && r->done && !is_interruption(left)) {
    // The leader's read failed (the connection broke), but its own request has its outcome:
    // the server's answer, kept by fail_everything. That is what its caller must see.
    left = nullptr;
  }
  if (left) {
    abandon(r);
    hand_over();
    std::rethrow_exception(left);
  }
  hand_over();
}

void connection_state::abandon(const std::shared_ptr<request>& r) noexcept {
  r->waiter = nullptr;
  if (r->done) return;
  r->abandoned = true;
  if (!r->sent && !r->ends_section) {
    // Never sent: withdraw it. (A cache PREPARE queued for it still goes: it is harmless.)
    const auto it = std::find(queued_.begin(), queued_.end(), r);
    if (it != queued_.end()) queued_.erase(it);
    r->done = true;
    return;
  }
  if (!r->sent) {
    // A COMMIT/ROLLBACK: still sent (see transaction::commit), without its holder.
    section_closing_ = true;
    holder_ = nullptr;
    return;
  }
  // In flight. Ask the server to stop it only if that cannot hit anyone else: it is the one
  // statement in flight (nothing of another caller behind it), and new statements wait until
  // the cancel has landed. A statement bounded by its own statement_timeout stops by itself.
  const bool cancellable =
      (r->what == request::kind::query || r->what == request::kind::query_prepared) &&
      r->statement_timeout_ms == 0 && !r->control;
  if (cancellable && cancel_target_ == nullptr && !cancel_in_progress_ && in_flight_.size() == 1 &&
      in_flight_.front() == r) {
    cancel_in_background(r);
  }
}

void connection_state::cancel_in_background(std::shared_ptr<request> target) noexcept {
  PGcancel* handle = PQgetCancel(conn_.get());
  if (handle == nullptr) return;
  try {
    std::weak_ptr<connection_state> weak = weak_from_this();
    spawn(
        [handle, weak] {
          // The cancel must be delivered even when this fiber's scheduler ends meanwhile (a
          // sync-mode call's private scheduler cancels its leftover fibers): new statements
          // wait for it.
          balrog::detail::uninterruptible to_the_end(current_context());
          try {
            offload([handle] {
              char message[256] = {};
              PQcancel(handle, message, sizeof message);
              PQfreeCancel(handle);
            });
          } catch (...) {
            // the offloaded call still frees the handle
          }
          if (auto s = weak.lock()) {
            s->cancel_in_progress_ = false;
            s->cancel_waiters_.wake_all();
            s->hand_over();
            s->kick_leader();
          }
        },
        {.name = "pg-cancel", .stack = stack_kind::dense})
        .detach();
  } catch (...) {
    PQfreeCancel(handle);  // no scheduler: skip the courtesy
    return;
  }
  cancel_target_ = std::move(target);
  cancel_in_progress_ = true;
}

task<void> connection_state::lead(request* mine, deadline until) {
  pumping_ = true;
  try {
    if (pending_cleanup_ != leftover::none) co_await clean_up();
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

task<void> connection_state::pump(request* mine, deadline until) {
  for (;;) {
    if (broken_) std::rethrow_exception(broken_reason_);  // closed under us
    // Results can be waiting only for statements sent before this turn. With nothing in flight,
    // a read right after sending finds nothing (EAGAIN) nearly always: the wait below catches
    // the reply instead, and anything unsolicited (a notice) is read with it.
    const bool results_may_wait = !in_flight_.empty() || mine == nullptr;
    send_ready();
    // Usually everything goes at once; await the flush loop only when it did not (a task that
    // completes without suspending, once per turn, would nest stack frames where the compiler
    // makes no tail calls: ASan builds).
    if (PQflush(conn_.get()) != 0) co_await flush_out(true);
    flushed_upto_ = sent_count_;
    if (results_may_wait) read_available();
    if (mine != nullptr ? mine->done : !notifications_.empty() || want_raw_) co_return;
    if (in_flight_.empty()) {
      // Taking turns (pipeline off), the next statement can only go now that the last one is
      // done: go round and send it.
      const bool more = std::any_of(queued_.begin(), queued_.end(), [this](const auto& r) {
        return sendable(*r) || (r->what == request::kind::section && exclusive_owner_ == 0);
      });
      if (more) continue;
      // Nothing of ours can go out (another caller's section, a cancel landing): wait to be led
      // again.
      if (mine != nullptr) co_return;
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

task<void> connection_state::flush_out(bool pipeline) {
  for (int f; (f = PQflush(conn_.get())) != 0;) {
    if (f < 0) throw_connection_error(conn_.get(), "sending to the server");
    flushed_upto_ = sent_count_;
    co_await readable_or_writable(socket_of(conn_.get()), deadline::never());
    if (broken_) std::rethrow_exception(broken_reason_);
    if (pipeline) {
      read_available();
    } else if (PQconsumeInput(conn_.get()) == 0) {
      throw_connection_error(conn_.get(), "reading from the server");
    }
  }
}

// --- sending -------------------------------------------------------------------------------

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
  PGconn* c = conn_.get();
  int ok = 1;
  r.queries = r.what == request::kind::sync ? 0 : 1;
  r.main_query = 0;
  if (r.statement_timeout_ms > 0) {
    const std::string ms = std::to_string(r.statement_timeout_ms);
    const char* value = ms.c_str();
    ok = PQsendQueryParams(c, r.owner != 0 ? save_and_lower_timeout : lower_timeout, 1, nullptr,
                           &value, nullptr, nullptr, 0);
    r.queries = r.owner != 0 ? 3 : 2;
    r.main_query = 1;
  }
  if (ok == 1) {
    const param_arrays a(r.params);
    const int n = static_cast<int>(r.params.size());
    switch (r.what) {
      case request::kind::query:
        ok = PQsendQueryParams(c, r.sql.c_str(), n, a.types(), a.values(), a.lengths(), a.formats(),
                               r.result_format);
        break;
      case request::kind::prepare:
        ok = PQsendPrepare(c, r.name.c_str(), r.sql.c_str(), n, a.types());
        break;
      case request::kind::query_prepared:
        ok = PQsendQueryPrepared(c, r.name.c_str(), n, a.values(), a.lengths(), a.formats(),
                                 r.result_format);
        break;
      case request::kind::sync:
      case request::kind::section:
        break;
    }
  }
  if (ok == 1 && r.queries == 3) {
    ok = PQsendQueryParams(c, restore_timeout, 0, nullptr, nullptr, nullptr, nullptr, 0);
  }
  // The arguments were checked before queueing (count, NULs): a refusal here is the
  // connection's (out of memory, a broken connection).
  if (ok != 1 || PQpipelineSync(c) != 1) throw_connection_error(c, "sending a statement");
  r.sent = true;
  r.send_serial = ++sent_count_;
}

void connection_state::send_ready() {
  for (auto it = queued_.begin(); it != queued_.end();) {
    request& r = **it;
    if (r.what == request::kind::section) {
      // Granted in queue order, as soon as no section is open.
      if (exclusive_owner_ == 0 && pending_cleanup_ == leftover::none) {
        exclusive_owner_ = r.token;
        section_closing_ = false;
        std::shared_ptr<request> granted = std::move(*it);
        it = queued_.erase(it);
        complete(*granted);
      } else {
        ++it;
      }
      continue;
    }
    if (r.owner != 0 && r.owner != exclusive_owner_) {
      // Its section has ended (a transaction used from two fibers at once): it can never go.
      r.error = std::make_exception_ptr(
          usage_error("balrog::pg::transaction: used after it committed or rolled back"));
      std::shared_ptr<request> stale = std::move(*it);
      it = queued_.erase(it);
      complete(*stale);
      continue;
    }
    if (!sendable(r)) {
      ++it;
      continue;
    }
    if (!options_.pipeline && !in_flight_.empty()) return;  // take turns
    if (r.control) check_peer_alive();
    send_one(r);
    const bool ends = r.ends_section;
    const std::uint64_t owner = r.owner;
    in_flight_.push_back(std::move(*it));
    it = queued_.erase(it);
    if (ends) {
      // Everything sent from now on runs after the COMMIT/ROLLBACK: the section is over.
      // What it held back goes now, in queue order.
      end_section(owner);
      it = queued_.begin();
    }
  }
}

void connection_state::check_peer_alive() {
  // libpq reports a failed write as a success (and the error only when it reads), so a COMMIT
  // handed to it after the connection died would look sent. Look at the socket first: a reset
  // or a server that has closed its side will never read what we send.
  pollfd p{socket_of(conn_.get()), POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)) != 0) {
    // Read what the server said last (its FATAL message), or libpq's "closed unexpectedly".
    PQconsumeInput(conn_.get());
    throw_connection_error(conn_.get(), "the server closed the connection");
  }
}

void connection_state::push_out_now() noexcept {
  if (conn_ == nullptr || broken_ || pumping_ || !in_pipeline_) return;
  try {
    send_ready();
    if (PQflush(conn_.get()) < 0) throw_connection_error(conn_.get(), "sending to the server");
    flushed_upto_ = sent_count_;
    // Whatever did not fit stays in libpq's buffer: the next leader's flush sends it.
  } catch (...) {
    mark_broken(std::current_exception());
  }
}

// --- reading -------------------------------------------------------------------------------

void connection_state::collect_notifications() {
  while (PGnotify* n = PQnotifies(conn_.get())) {
    notifications_.push_back({n->relname, n->extra != nullptr ? n->extra : "", n->be_pid});
    PQfreemem(n);
  }
  if (!notifications_.empty()) notification_waiters_.wake_all();
}

void connection_state::read_available() {
  // When the connection has just failed, libpq may still hold complete messages it read
  // before (a COMMIT's reply that came with the FIN): deliver those before reporting it.
  const bool consumed = PQconsumeInput(conn_.get()) != 0;
  collect_notifications();
  while (!in_flight_.empty() && PQisBusy(conn_.get()) == 0) {
    request& head = *in_flight_.front();
    result_ptr res(PQgetResult(conn_.get()));
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
      // The connection is gone; what libpq returns from now on is its own account of that,
      // not the server's. Requests that had the server's answer keep it (fail_everything).
      throw_connection_error(conn_.get(), "reading from the server");
    }
    if (head.queries_ended == head.queries) {
      // Expect the Sync that closes this request.
      if (!res || PQresultStatus(res.get()) != PGRES_PIPELINE_SYNC) {
        throw_connection_error(conn_.get(),
                               "the server's replies are out of step with the pipeline");
      }
      complete_head();
      continue;
    }
    if (!res) {
      ++head.queries_ended;
      continue;
    }
    switch (PQresultStatus(res.get())) {
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        // The statement text hid its COPY from the lexer (query() refuses COPY ... STDIN /
        // STDOUT): the pipeline cannot go on.
        throw connection_error({"08000", "FATAL",
                                "a statement started a COPY inside the pipeline, which cannot go "
                                "on; COPY ... STDIN / STDOUT runs through copy_in() / copy_out()",
                                "", ""});
      default:
        break;
    }
    if (head.queries_ended == head.main_query) {
      head.result = std::move(res);  // a statement's result (one per statement)
    } else if (std::exception_ptr e = error_from_result(res.get()); e && !head.wrapper_error) {
      head.wrapper_error = e;
    }
  }
  if (!consumed) throw_connection_error(conn_.get(), "reading from the server");
}

void connection_state::complete_head() {
  std::shared_ptr<request> done = std::move(in_flight_.front());
  in_flight_.pop_front();
  done->answered = true;
  if (done->keep_error_result) {
    if (done->result) note_command(done->result.get());
    if (done->on_answer) done->on_answer(*done, conn_.get());
    complete(*done);
    return;
  }
  if (done->result) {
    note_command(done->result.get());
    if (std::exception_ptr e = error_from_result(done->result.get())) {
      const bool skipped = PQresultStatus(done->result.get()) == PGRES_PIPELINE_ABORTED;
      // Skipped because the statement before it failed: that statement's error says why.
      done->error = skipped && done->wrapper_error ? done->wrapper_error : e;
      done->result.reset();
    } else if (done->wrapper_error) {
      done->error = done->wrapper_error;  // restoring statement_timeout failed
    }
  } else if (done->wrapper_error) {
    done->error = done->wrapper_error;
  }
  if (done->what == request::kind::prepare && done->error) {
    const bool exists = sqlstate_of(done->error) == "42P05";
    // The cache names a statement after its text and types: one of that name is this one.
    if (exists && !done->cache_key.empty()) {
      done->error = nullptr;
    } else if (!done->cache_key.empty()) {
      forget_cached(done->cache_key, done->name);
    }
  }
  if (done->depends_on && done->depends_on->error) done->error = done->depends_on->error;
  if (done->error && done->statement_timeout_ms > 0 && done->caller_deadline.expired()) {
    // The server stopped it at the caller's deadline (its statement_timeout): a timeout.
    try {
      std::rethrow_exception(done->error);
    } catch (const query_cancelled&) {
      done->error = std::make_exception_ptr(
          timeout_error("balrog::pg: deadline exceeded (the server stopped the statement)"));
    } catch (...) {
    }
  }
  complete(*done);
}

void connection_state::note_command(const PGresult* res) noexcept {
  if (PQresultStatus(res) != PGRES_COMMAND_OK) return;
  const std::string_view tag = PQcmdStatus(const_cast<PGresult*>(res));
  if (tag == "DEALLOCATE ALL") {
    clear_cache();
  } else if (tag == "DISCARD ALL") {
    clear_cache();
    listening_ = false;
  } else if (tag == "LISTEN") {
    listening_ = true;
  }
}

// --- notifications and the pool ------------------------------------------------------------

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
    if (!pumping_ && !want_raw_ && (exclusive_owner_ == 0 || pending_cleanup_ != leftover::none)) {
      // Idle: read the socket ourselves; a caller with a statement wakes us and takes over.
      try {
        co_await lead(nullptr, until);
      } catch (...) {
        hand_over();  // nobody is left to lead if the connection broke: then this does nothing
        throw;
      }
      hand_over();
      if (want_raw_ && notifications_.empty()) {
        // A section wants the connection to itself: let it go first.
        deadline_scope bound(until);
        try {
          co_await queue_awaiter(notification_waiters_, nullptr, "pg-notification");
        } catch (const timeout_error&) {
          if (!until.expired()) throw;
        }
      }
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

bool connection_state::settled() const noexcept {
  return open() && queued_.empty() && in_flight_.empty() && exclusive_owner_ == 0 &&
         pending_cleanup_ == leftover::none && !sends_held() && !listening_ &&
         notifications_.empty() && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

task<bool> connection_state::settle(deadline until) {
  if (!open()) co_return false;
  if (settled()) co_return true;
  // A section held by a live transaction or COPY object of the last user: it may come back.
  if (exclusive_owner_ != 0 && !section_closing_ && pending_cleanup_ == leftover::none) {
    co_return false;
  }
  auto self = shared_from_this();
  deadline_scope bound(until);
  auto sync = std::make_shared<request>();
  sync->what = request::kind::sync;
  co_await run(sync, "settle");  // everything queued or in flight first
  const PGTransactionStatusType status = PQtransactionStatus(conn_.get());
  if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) {
    // A transaction block left open by hand (a script's BEGIN): psycopg_pool rolls it back.
    auto rollback = std::make_shared<request>();
    rollback->sql = "ROLLBACK";
    rollback->control = true;
    rollback->internal = true;
    co_await run(rollback, "settle");
  }
  if (listening_ || !notifications_.empty()) {
    auto unlisten = std::make_shared<request>();
    unlisten->sql = "UNLISTEN *";
    unlisten->internal = true;
    co_await run(unlisten, "settle");
    listening_ = false;
    notifications_.clear();
  }
  co_return settled();
}

}  // namespace balrog::pg::detail
