// pg::connection, transaction, copy_writer, copy_reader: the public face of connection_state.
#include "balrog/pg/connection.hpp"

#include <libpq-fe.h>

#include "balrog/await.hpp"
#include "balrog/detail/execution_context.hpp"
#include "balrog/errors.hpp"
#include "balrog/offload.hpp"
#include "balrog/pg/error.hpp"
#include "connection/connection_state.hpp"
#include "connection/drain.hpp"
#include "connection/failure_kind.hpp"
#include "connection/result_errors.hpp"
#include "protocol/connect_timeout.hpp"
#include "protocol/conninfo_arrays.hpp"
#include "wait/readable_or_writable.hpp"
#include "wait/socket_registration.hpp"

namespace balrog::pg {

namespace {

using detail::connection_state;
using detail::request;
using leftover = detail::connection_state::leftover;

std::shared_ptr<request> statement(std::string sql, std::vector<param> params, int format,
                                   std::uint64_t owner) {
  auto r = std::make_shared<request>();
  r->sql = std::move(sql);
  r->params = std::move(params);
  r->result_format = format;
  r->owner = owner;
  return r;
}

std::shared_ptr<request> control(std::string sql, std::uint64_t owner) {
  auto r = statement(std::move(sql), {}, 0, owner);
  r->control = true;
  return r;
}

// The connection's state, checked usable from here. The returned reference stays valid for a
// coroutine that keeps `s` (a shared_ptr copy) alive.
connection_state& usable(const std::shared_ptr<connection_state>& s, const char* call) {
  if (!s) {
    throw usage_error(std::string("balrog::pg::connection::") + call + ": not connected");
  }
  s->check_usable(call);
  return *s;
}

std::string quoted_identifier(PGconn* conn, const std::string& name) {
  char* q = PQescapeIdentifier(conn, name.c_str(), name.size());
  if (q == nullptr) throw usage_error("balrog::pg: cannot quote identifier '" + name + "'");
  std::string out(q);
  PQfreemem(q);
  return out;
}

// query_one / query_opt: the statement's result, checked to have `least` to `most` rows.
task<result> with_rows(task<result> running, std::size_t least, std::size_t most) {
  result r = co_await std::move(running);
  r.expect_rows(least, most);
  co_return r;
}

// execute: the number of rows the statement affected.
task<std::uint64_t> rows_affected(task<result> running) {
  result r = co_await std::move(running);
  co_return r.rows_affected();
}

// Queues the end of a COPY IN (CopyDone, or CopyFail with `error_message`), waiting while
// libpq's buffer is full. Sending it is the caller's next step.
task<void> queue_copy_end(PGconn* c, const char* error_message) {
  for (;;) {
    const int r = PQputCopyEnd(c, error_message);
    if (r == 1) co_return;
    if (r < 0) detail::throw_connection_error(c, "ending COPY");
    co_await detail::readable_or_writable(PQsocket(c), deadline::never());
    if (PQconsumeInput(c) == 0) detail::throw_connection_error(c, "reading from the server");
  }
}

// Runs `sql` (simple protocol) outside pipeline mode; the caller uses the connection raw.
// Returns the last result, or the COPY state a statement started when `copy_allowed`;
// otherwise a COPY the text starts is ended (aborted) and reported as usage_error. Throws the
// first error after reading every result.
task<detail::result_ptr> run_simple(connection_state& s, const std::string& sql,
                                    bool copy_allowed) {
  PGconn* c = s.raw();
  if (PQsendQuery(c, sql.c_str()) != 1) detail::throw_connection_error(c, "sending a statement");
  co_await detail::flush(c, deadline::never());
  detail::result_ptr last;
  std::exception_ptr first_error;
  while (auto r = co_await detail::next_result(c, deadline::never())) {
    const ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
      if (copy_allowed) co_return r;  // the COPY starts
      if (!first_error) {
        first_error = std::make_exception_ptr(
            usage_error("balrog::pg::connection::execute_script: COPY ... FROM STDIN / TO STDOUT "
                        "cannot run in a script; use copy_in() / copy_out()"));
      }
      if (st == PGRES_COPY_IN) {
        co_await queue_copy_end(c, "balrog: COPY in execute_script");
        co_await detail::flush(c, deadline::never());
      } else {
        co_await detail::drop_copy_out(c);
      }
      continue;
    }
    s.note_command(r.get());
    if (auto e = detail::error_from_result(r.get()); e && !first_error) first_error = e;
    last = std::move(r);
  }
  if (first_error) std::rethrow_exception(first_error);
  co_return last;
}

// A script inside section `token` (owned: the section ends with it).
task<void> script_in_section(connection_state& s, std::uint64_t token, bool owns,
                             const std::string& sql) {
  try {
    co_await s.enter_raw(token);
  } catch (...) {
    if (owns) s.release_exclusive(token);
    throw;
  }
  std::exception_ptr failure;
  try {
    co_await run_simple(s, sql, false);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure && detail::is_interruption(failure)) {
    // What the script still runs is read by the next leader; the server is asked to stop it
    // (nothing else can be hit: the section holds until then).
    s.abandon_raw(token, leftover::output, "", owns, true);
    std::rethrow_exception(failure);
  }
  s.leave_raw(token, owns);
  if (failure) std::rethrow_exception(failure);
}

// Starts a COPY inside section `token`: leaves pipeline mode and sends `sql`, which must put
// the server in `expected` (COPY_IN or COPY_OUT). On failure the section is given back (when
// owned) and the connection is back in the pipeline.
task<void> start_copy(connection_state& s, std::uint64_t token, bool owns, const std::string& sql,
                      ExecStatusType expected, const char* call) {
  try {
    co_await s.enter_raw(token);
  } catch (...) {
    if (owns) s.release_exclusive(token);
    throw;
  }
  PGconn* c = s.raw();
  leftover left = leftover::output;  // what an interruption leaves, as it goes on
  std::exception_ptr failure;
  try {
    detail::result_ptr r = co_await run_simple(s, sql, true);
    const ExecStatusType got = r ? PQresultStatus(r.get()) : PGRES_EMPTY_QUERY;
    if (got == expected) co_return;
    // A COPY of the other direction has started on the server: end it before saying so.
    if (got == PGRES_COPY_IN) {
      left = leftover::copy_in;
      co_await queue_copy_end(c, "balrog: not the COPY direction asked for");
      left = leftover::output;
      co_await detail::flush(c, deadline::never());
    } else if (got == PGRES_COPY_OUT) {
      left = leftover::copy_out;
      co_await detail::drop_copy_out(c);
      left = leftover::results;
    }
    while (auto rest = co_await detail::next_result(c, deadline::never())) {
    }
    throw usage_error(std::string("balrog::pg::connection::") + call + ": '" + sql +
                      (expected == PGRES_COPY_IN ? "' is not COPY ... FROM STDIN"
                                                 : "' is not COPY ... TO STDOUT"));
  } catch (...) {
    failure = std::current_exception();
  }
  if (detail::is_interruption(failure)) {
    s.abandon_raw(token, left, "balrog: the COPY's start was interrupted", owns, true);
  } else {
    s.leave_raw(token, owns);
  }
  std::rethrow_exception(failure);
}

// Starts a statement in single-row mode inside section `token` (owned: the section ends with
// the stream), alone in the pipeline. On failure the section is given back (when owned).
task<void> start_stream(connection_state& s, std::uint64_t token, bool owns, const std::string& sql,
                        const std::vector<param>& params) {
  try {
    co_await s.enter_raw(token, true);
  } catch (...) {
    if (owns) s.release_exclusive(token);
    throw;
  }
  PGconn* c = s.raw();
  std::exception_ptr failure;
  try {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    std::vector<Oid> types;
    for (const param& p : params) {
      values.push_back(p.value ? p.value->data() : nullptr);
      lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
      formats.push_back(p.binary ? 1 : 0);
      types.push_back(p.oid);
    }
    if (PQsendQueryParams(c, sql.c_str(), static_cast<int>(params.size()), types.data(),
                          values.data(), lengths.data(), formats.data(),
                          s.options().binary_results ? 1 : 0) != 1 ||
        PQpipelineSync(c) != 1 || PQsetSingleRowMode(c) != 1) {
      detail::throw_connection_error(c, "starting a stream");
    }
    co_await detail::flush(c, deadline::never());
    co_return;
  } catch (...) {
    failure = std::current_exception();
  }
  if (detail::is_interruption(failure)) {
    s.abandon_raw(token, leftover::pipeline_results, "", owns, true);
  } else {
    s.mark_broken(failure);  // libpq refused or the connection broke
  }
  std::rethrow_exception(failure);
}

// The rest of a stream's results, up to its Sync; throws the first error among them.
task<void> finish_stream(PGconn* c, detail::result_ptr first) {
  std::exception_ptr first_error = first ? detail::error_from_result(first.get()) : nullptr;
  for (;;) {
    detail::result_ptr r = co_await detail::next_result(c, deadline::never());
    if (r && PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) break;
    if (!r) continue;
    if (auto e = detail::error_from_result(r.get()); e && !first_error) first_error = e;
  }
  if (first_error) std::rethrow_exception(first_error);
}

const char* isolation_sql(isolation level) {
  switch (level) {
    case isolation::read_committed:
      return "BEGIN ISOLATION LEVEL READ COMMITTED";
    case isolation::repeatable_read:
      return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case isolation::serializable:
      return "BEGIN ISOLATION LEVEL SERIALIZABLE";
  }
  return "BEGIN";
}

// Connects with libpq's own blocking function on the offload pool: for connect_timeout (per
// host, per address) and multi-host conninfos, whose logic lives inside libpq's
// connectDBComplete. Interrupted, the offloaded connect runs on and its connection is freed.
task<detail::connection_ptr> connect_offloaded(
    std::vector<std::pair<std::string, std::string>> params, deadline until) {
  deadline_scope bound(until);
  auto connecting = on_fiber([params] {
    return offload([params] {
      return detail::with_libpq_arrays(params, [](const char* const* k, const char* const* v) {
        return detail::connection_ptr(PQconnectdbParams(k, v, 0));
      });
    });
  });
  detail::connection_ptr conn = co_await std::move(connecting);
  if (!conn) throw std::bad_alloc();
  if (PQstatus(conn.get()) != CONNECTION_OK) detail::throw_connection_error(conn.get(), "connect");
  if (PQsetnonblocking(conn.get(), 1) != 0) {
    detail::throw_connection_error(conn.get(), "PQsetnonblocking");
  }
  detail::register_socket(conn.get());  // the socket is final now
  co_return conn;
}

// libpq's connectDBComplete logic is needed: a connect_timeout may apply, or several hosts.
bool needs_libpq_connect(const std::vector<std::pair<std::string, std::string>>& params) {
  if (detail::environment_sets_timeout()) return true;
  for (const auto& [k, v] : params) {
    if ((k == "connect_timeout" && detail::timeout_in_force(v.c_str())) ||
        (k == "service" && !v.empty())) {
      return true;
    }
    if ((k == "host" || k == "hostaddr") && v.find(',') != std::string::npos) return true;
  }
  return false;
}

}  // namespace

// --- connection ----------------------------------------------------------------------------

connection::connection() noexcept = default;
connection::connection(std::shared_ptr<detail::connection_state> s) noexcept
    : state_(std::move(s)) {}
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
  }
  return *this;
}
connection::~connection() { close(); }

task<connection> connection::connect(std::string conninfo, connect_options options) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string why = parse_error != nullptr ? parse_error : "out of memory";
    if (parse_error != nullptr) PQfreemem(parse_error);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    throw usage_error("balrog::pg::connection::connect: bad conninfo: " + why);
  }
  std::vector<std::pair<std::string, std::string>> params;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) params.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(parsed);
  const deadline until =
      options.timeout.count() > 0 ? deadline(options.timeout) : deadline::never();
  detail::connection_ptr raw;
  if (needs_libpq_connect(params)) {
    raw = co_await connect_offloaded(std::move(params), until);
  } else {
    raw = co_await detail::connect(std::move(params), until);
  }
  co_return connection(std::make_shared<connection_state>(std::move(raw), std::move(options)));
}

task<result> connection::query(std::string sql, std::vector<param> params) {
  auto keep = state_;
  connection_state& s = usable(keep, "query");
  const int format = s.options().binary_results ? 1 : 0;
  detail::result_ptr r =
      co_await s.run(statement(std::move(sql), std::move(params), format, 0), "query");
  co_return result(r.release());
}

task<result> connection::query_one(std::string sql, std::vector<param> params) {
  return with_rows(query(std::move(sql), std::move(params)), 1, 1);
}

task<result> connection::query_opt(std::string sql, std::vector<param> params) {
  return with_rows(query(std::move(sql), std::move(params)), 0, 1);
}

task<std::uint64_t> connection::execute(std::string sql, std::vector<param> params) {
  return rows_affected(query(std::move(sql), std::move(params)));
}

task<row_stream> connection::stream(std::string sql, std::vector<param> params) {
  auto keep = state_;
  connection_state& s = usable(keep, "stream");
  s.check_statement(*statement(sql, params, 0, 0), "stream");
  const std::uint64_t token = co_await s.acquire_exclusive("stream");
  co_await start_stream(s, token, true, sql, params);
  row_stream rows(state_, token, true);
  co_return rows;
}

task<void> connection::execute_script(std::string sql) {
  auto keep = state_;
  connection_state& s = usable(keep, "execute_script");
  const std::uint64_t token = co_await s.acquire_exclusive("execute_script");
  co_await script_in_section(s, token, true, sql);
}

task<std::string> connection::prepare(std::string name, std::string sql) {
  auto keep = state_;
  connection_state& s = usable(keep, "prepare");
  auto r = std::make_shared<request>();
  r->what = request::kind::prepare;
  r->name = name;
  r->sql = std::move(sql);
  co_await s.run(std::move(r), "prepare");
  co_return name;
}

task<result> connection::query_prepared(std::string name, std::vector<param> params) {
  auto keep = state_;
  connection_state& s = usable(keep, "query_prepared");
  auto r = statement({}, std::move(params), s.options().binary_results ? 1 : 0, 0);
  r->what = request::kind::query_prepared;
  r->name = std::move(name);
  detail::result_ptr res = co_await s.run(std::move(r), "query_prepared");
  co_return result(res.release());
}

task<transaction> connection::begin(isolation level, bool read_only) {
  auto keep = state_;
  connection_state& s = usable(keep, "begin");
  const std::uint64_t token = co_await s.acquire_exclusive("begin");
  std::string sql = isolation_sql(level);
  if (read_only) sql += " READ ONLY";
  auto req = control(std::move(sql), token);
  try {
    co_await s.run(req, "begin");
  } catch (...) {
    // Sent, and not known to have failed: the server may be inside the block (the caller gave
    // up before the reply, or the connection broke) or is (the reply came in the same turn as
    // the caller's deadline or cancellation, so the request is done and yet the caller was
    // woken to leave). End it before anyone else's statement. Otherwise nothing was opened.
    if (req->sent && !(req->done && req->error)) {
      s.close_section(token, "ROLLBACK");
    } else {
      s.release_exclusive(token);
    }
    throw;
  }
  transaction t(state_, token);
  co_return t;
}

task<void> connection::listen(std::string channel) {
  auto keep = state_;
  connection_state& s = usable(keep, "listen");
  co_await query("LISTEN " + quoted_identifier(s.raw(), channel));
}

task<void> connection::unlisten(std::string channel) {
  auto keep = state_;
  connection_state& s = usable(keep, "unlisten");
  co_await query("UNLISTEN " + quoted_identifier(s.raw(), channel));
}

task<void> connection::notify(std::string channel, std::string payload) {
  std::vector<param> params(2);
  params[0].value = std::move(channel);
  params[1].value = std::move(payload);
  co_await query("SELECT pg_notify($1, $2)", std::move(params));
}

task<std::optional<notification>> connection::wait_notification(deadline until) {
  auto keep = state_;
  connection_state& s = usable(keep, "wait_notification");
  co_return co_await s.next_notification(until);
}

task<copy_writer> connection::copy_in(std::string sql) {
  auto keep = state_;
  connection_state& s = usable(keep, "copy_in");
  const std::uint64_t token = co_await s.acquire_exclusive("copy_in");
  co_await start_copy(s, token, true, sql, PGRES_COPY_IN, "copy_in");
  copy_writer w(state_, token, true);
  co_return w;
}

task<copy_reader> connection::copy_out(std::string sql) {
  auto keep = state_;
  connection_state& s = usable(keep, "copy_out");
  const std::uint64_t token = co_await s.acquire_exclusive("copy_out");
  co_await start_copy(s, token, true, sql, PGRES_COPY_OUT, "copy_out");
  copy_reader r(state_, token, true);
  co_return r;
}

task<void> connection::cancel() {
  auto keep = state_;
  connection_state& s = usable(keep, "cancel");
  const std::string complaint = co_await detail::request_cancel(s.raw());
  if (!complaint.empty()) {
    throw connection_error({"08006", "ERROR", "cancel request failed: " + complaint, "", ""});
  }
}

void connection::close() noexcept {
  if (state_) {
    state_->close();
    state_.reset();
  }
}

bool connection::is_open() const noexcept { return state_ && state_->open(); }
int connection::server_version() const noexcept {
  return state_ && state_->raw() ? PQserverVersion(state_->raw()) : 0;
}
int connection::backend_pid() const noexcept {
  return state_ && state_->raw() ? PQbackendPID(state_->raw()) : 0;
}
pg_conn* connection::native_handle() const noexcept { return state_ ? state_->raw() : nullptr; }

// --- transaction ---------------------------------------------------------------------------

transaction::transaction(std::shared_ptr<detail::connection_state> s, std::uint64_t token) noexcept
    : state_(std::move(s)), token_(token), open_(true) {}
transaction::transaction(transaction&& o) noexcept
    : state_(std::move(o.state_)), token_(o.token_), open_(std::exchange(o.open_, false)) {}
transaction::~transaction() {
  // Roll back without waiting: the ROLLBACK goes before anything the transaction held back.
  if (open_ && state_) state_->close_section(token_, "ROLLBACK");
}

void transaction::check_open(const char* call) const {
  if (!open_) {
    throw usage_error(std::string("balrog::pg::transaction::") + call +
                      ": the transaction has ended");
  }
  state_->check_usable(call);
  state_->note_holder(token_);
}

task<result> transaction::query(std::string sql, std::vector<param> params) {
  check_open("query");
  auto keep = state_;
  const int format = state_->options().binary_results ? 1 : 0;
  detail::result_ptr r =
      co_await state_->run(statement(std::move(sql), std::move(params), format, token_), "query");
  co_return result(r.release());
}

task<result> transaction::query_one(std::string sql, std::vector<param> params) {
  return with_rows(query(std::move(sql), std::move(params)), 1, 1);
}

task<result> transaction::query_opt(std::string sql, std::vector<param> params) {
  return with_rows(query(std::move(sql), std::move(params)), 0, 1);
}

task<std::uint64_t> transaction::execute(std::string sql, std::vector<param> params) {
  return rows_affected(query(std::move(sql), std::move(params)));
}

task<row_stream> transaction::stream(std::string sql, std::vector<param> params) {
  check_open("stream");
  auto keep = state_;
  state_->check_statement(*statement(sql, params, 0, token_), "stream");
  co_await start_stream(*state_, token_, false, sql, params);
  row_stream rows(state_, token_, false);
  co_return rows;
}

task<copy_writer> transaction::copy_in(std::string sql) {
  check_open("copy_in");
  auto keep = state_;
  co_await start_copy(*state_, token_, false, sql, PGRES_COPY_IN, "copy_in");
  copy_writer w(state_, token_, false);
  co_return w;
}

task<copy_reader> transaction::copy_out(std::string sql) {
  check_open("copy_out");
  auto keep = state_;
  co_await start_copy(*state_, token_, false, sql, PGRES_COPY_OUT, "copy_out");
  copy_reader r(state_, token_, false);
  co_return r;
}

task<void> transaction::execute_script(std::string sql) {
  check_open("execute_script");
  auto keep = state_;
  co_await script_in_section(*state_, token_, false, sql);
}

task<void> transaction::savepoint(std::string name) {
  co_await query("SAVEPOINT " + quoted_identifier(state_->raw(), name));
}
task<void> transaction::release(std::string name) {
  co_await query("RELEASE SAVEPOINT " + quoted_identifier(state_->raw(), name));
}
task<void> transaction::rollback_to(std::string name) {
  co_await query("ROLLBACK TO SAVEPOINT " + quoted_identifier(state_->raw(), name));
}

task<void> transaction::commit() {
  check_open("commit");
  auto keep = state_;
  open_ = false;
  if (current_deadline().expired() || balrog::detail::current_context().cancel_pending()) {
    // Given up before it started: roll back, so the outcome is known.
    state_->close_section(token_, "ROLLBACK");
    balrog::detail::throw_if_failed(current_deadline().expired()
                                        ? balrog::detail::wake_reason::scope_timeout
                                        : balrog::detail::wake_reason::cancelled);
  }
  auto req = control("COMMIT", token_);
  req->ends_section = true;
  detail::result_ptr r;
  try {
    r = co_await state_->run(req, "commit");
  } catch (const connection_error& e) {
    // The server's own answer (a FATAL for the COMMIT), or a COMMIT that never reached it:
    // nothing was committed.
    if (req->answered || !state_->may_have_reached_server(*req)) throw;
    throw commit_in_doubt({"08007", "ERROR",
                           "the connection was lost after COMMIT was sent; the transaction may "
                           "or may not have been committed (" +
                               std::string(e.primary()) + ")",
                           "", "check the data before retrying"});
  } catch (const error&) {
    throw;  // the server's answer: the COMMIT failed, nothing was committed
  } catch (...) {
    if (!detail::is_interruption(std::current_exception())) throw;
    if (!req->sent) {
      // Still queued: roll back instead, so the outcome is known (and nothing of anyone else
      // runs inside the transaction).
      req->sql = "ROLLBACK";
      throw;
    }
    throw commit_in_doubt({"08007", "ERROR",
                           "the caller stopped waiting after COMMIT was sent; the transaction "
                           "may or may not have been committed",
                           "", "check the data before retrying"});
  }
  // In a failed transaction the server answers COMMIT with ROLLBACK, and no error.
  if (PQcmdStatus(r.get()) != std::string_view("COMMIT")) {
    throw transaction_rollback({"40000", "ERROR",
                                "COMMIT rolled back the transaction: a statement in it had "
                                "failed, so nothing was committed",
                                "", ""});
  }
}

task<void> transaction::rollback() {
  check_open("rollback");
  auto keep = state_;
  open_ = false;
  auto req = control("ROLLBACK", token_);
  req->ends_section = true;  // sent even if we give up waiting
  co_await state_->run(req, "rollback");
}

// --- COPY ----------------------------------------------------------------------------------

copy_writer::copy_writer(std::shared_ptr<detail::connection_state> s, std::uint64_t token,
                         bool owns_section) noexcept
    : state_(std::move(s)), token_(token), owns_section_(owns_section), open_(true) {}
copy_writer::copy_writer(copy_writer&& o) noexcept
    : state_(std::move(o.state_)),
      token_(o.token_),
      owns_section_(o.owns_section_),
      open_(std::exchange(o.open_, false)) {}
copy_writer::~copy_writer() {
  if (!open_ || !state_ || !state_->open()) return;
  // Cannot wait here: the next user of the connection finishes the COPY.
  state_->abandon_raw(token_, leftover::copy_in,
                      "balrog: the copy_writer was destroyed before finish()", owns_section_,
                      false);
}

task<void> copy_writer::write(std::string data) {
  if (!open_) throw usage_error("balrog::pg::copy_writer::write: the COPY has ended");
  auto keep = state_;
  try {
    co_await detail::put_copy_data(state_->raw(), data.data(), static_cast<int>(data.size()),
                                   deadline::never());
  } catch (const pg::error&) {
    open_ = false;
    state_->mark_broken(std::current_exception());
    throw;
  } catch (...) {
    // Interrupted (cancelled, deadline): abandon the COPY as the destructor would.
    open_ = false;
    state_->abandon_raw(token_, leftover::copy_in, "balrog: the COPY's writer was interrupted",
                        owns_section_, false);
    throw;
  }
}

task<void> copy_writer::end(const char* error_message) {
  if (!open_) throw usage_error("balrog::pg::copy_writer: the COPY has ended");
  open_ = false;
  PGconn* c = state_->raw();
  leftover left = leftover::copy_in;
  try {
    co_await queue_copy_end(c, error_message);
    left = leftover::output;  // the end is queued: from now on the COPY completes
    co_await detail::flush(c, deadline::never());
  } catch (const pg::error&) {
    state_->mark_broken(std::current_exception());
    throw;
  } catch (...) {
    state_->abandon_raw(token_, left, "balrog: the end of the COPY was interrupted", owns_section_,
                        false);
    throw;
  }
}

task<std::uint64_t> copy_writer::finish() {
  auto keep = state_;
  co_await end(nullptr);
  std::exception_ptr failure;
  std::uint64_t rows = 0;
  try {
    std::exception_ptr first_error;
    while (auto r = co_await detail::next_result(state_->raw(), deadline::never())) {
      if (auto e = detail::error_from_result(r.get()); e && !first_error) first_error = e;
      const char* tuples = PQcmdTuples(r.get());
      if (tuples != nullptr && *tuples != '\0') rows = std::stoull(tuples);
    }
    if (first_error) std::rethrow_exception(first_error);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure && detail::is_interruption(failure)) {
    state_->abandon_raw(token_, leftover::results, "", owns_section_, false);
  } else {
    state_->leave_raw(token_, owns_section_);
  }
  if (failure) std::rethrow_exception(failure);
  co_return rows;
}

task<void> copy_writer::abort(std::string reason) {
  auto keep = state_;
  co_await end(reason.c_str());
  std::exception_ptr failure;
  try {
    // The server answers with an error result (the copy failed, as asked): expected.
    while (co_await detail::next_result(state_->raw(), deadline::never())) {
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure && detail::is_interruption(failure)) {
    state_->abandon_raw(token_, leftover::results, "", owns_section_, false);
  } else {
    state_->leave_raw(token_, owns_section_);
  }
  if (failure) std::rethrow_exception(failure);
}

copy_reader::copy_reader(std::shared_ptr<detail::connection_state> s, std::uint64_t token,
                         bool owns_section) noexcept
    : state_(std::move(s)), token_(token), owns_section_(owns_section), open_(true) {}
copy_reader::copy_reader(copy_reader&& o) noexcept
    : state_(std::move(o.state_)),
      token_(o.token_),
      owns_section_(o.owns_section_),
      open_(std::exchange(o.open_, false)) {}
copy_reader::~copy_reader() {
  if (!open_ || !state_ || !state_->open()) return;
  state_->abandon_raw(token_, leftover::copy_out, "", owns_section_, true);
}

task<std::optional<std::string>> copy_reader::next() {
  if (!open_) co_return std::nullopt;
  auto keep = state_;
  std::optional<std::string> row;
  try {
    row = co_await detail::get_copy_data(state_->raw(), deadline::never());
  } catch (const pg::error&) {
    open_ = false;
    state_->mark_broken(std::current_exception());
    throw;
  } catch (...) {
    // Interrupted mid-COPY (cancelled, deadline): the server is asked to stop, the next user
    // drains the rest.
    open_ = false;
    state_->abandon_raw(token_, leftover::copy_out, "", owns_section_, true);
    throw;
  }
  if (row) co_return row;
  open_ = false;
  std::exception_ptr failure;
  try {
    // The end: the final status, then back to pipelining.
    std::exception_ptr first_error;
    while (auto r = co_await detail::next_result(state_->raw(), deadline::never())) {
      if (auto e = detail::error_from_result(r.get()); e && !first_error) first_error = e;
    }
    if (first_error) std::rethrow_exception(first_error);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure && detail::is_interruption(failure)) {
    state_->abandon_raw(token_, leftover::results, "", owns_section_, false);
  } else {
    state_->leave_raw(token_, owns_section_);
  }
  if (failure) std::rethrow_exception(failure);
  co_return std::nullopt;
}

// --- streams -------------------------------------------------------------------------------

row_stream::row_stream(std::shared_ptr<detail::connection_state> s, std::uint64_t token,
                       bool owns_section) noexcept
    : state_(std::move(s)), token_(token), owns_section_(owns_section), open_(true) {}
row_stream::row_stream(row_stream&& o) noexcept
    : state_(std::move(o.state_)),
      token_(o.token_),
      owns_section_(o.owns_section_),
      open_(std::exchange(o.open_, false)),
      current_(std::move(o.current_)) {}
row_stream::~row_stream() {
  if (!open_ || !state_ || !state_->open()) return;
  state_->abandon_raw(token_, leftover::pipeline_results, "", owns_section_, true);
}

task<std::optional<row>> row_stream::next() {
  if (!open_) co_return std::nullopt;
  auto keep = state_;
  PGconn* c = state_->raw();
  std::exception_ptr failure;
  try {
    detail::result_ptr r = co_await detail::next_result(c, deadline::never());
    if (r && PQresultStatus(r.get()) == PGRES_SINGLE_TUPLE) {
      current_ = result(r.release());
      co_return row(current_, 0);
    }
    // The end: the final (empty) result or the statement's error, then the Sync.
    current_ = result();
    co_await finish_stream(c, std::move(r));
  } catch (...) {
    failure = std::current_exception();
  }
  open_ = false;
  if (failure && detail::is_interruption(failure)) {
    // Given up mid-stream: the server is asked to stop, the next user drains the rest.
    state_->abandon_raw(token_, leftover::pipeline_results, "", owns_section_, true);
  } else {
    if (failure && detail::is_connection_loss(failure)) state_->mark_broken(failure);
    state_->leave_raw(token_, owns_section_);
  }
  if (failure) std::rethrow_exception(failure);
  co_return std::nullopt;
}

}  // namespace balrog::pg
