// pg::connection, transaction, copy_writer, copy_reader: the public face of connection_state.
#include "balrog/pg/connection.hpp"

#include <libpq-fe.h>

#include "balrog/errors.hpp"
#include "balrog/pg/error.hpp"
#include "connection/connection_state.hpp"
#include "connection/result_errors.hpp"

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

// Runs `sql` (simple protocol) outside pipeline mode; the caller holds the exclusive section.
// Returns the last result; throws the first error.
task<detail::result_ptr> run_simple(connection_state& s, const std::string& sql) {
  if (PQsendQuery(s.raw(), sql.c_str()) != 1) {
    detail::throw_connection_error(s.raw(), "sending a statement");
  }
  co_await detail::flush(s.raw(), deadline::never());
  detail::result_ptr last;
  std::exception_ptr first_error;
  while (auto r = co_await detail::next_result(s.raw(), deadline::never())) {
    const ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) co_return r;  // the COPY starts
    if (auto e = detail::error_from_result(r.get()); e && !first_error) first_error = e;
    last = std::move(r);
  }
  if (first_error) std::rethrow_exception(first_error);
  co_return last;
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
  detail::connection_ptr raw = co_await detail::connect(std::move(params), until);
  co_return connection(std::make_shared<connection_state>(std::move(raw), options));
}

task<result> connection::query(std::string sql, std::vector<param> params) {
  connection_state& s = usable(state_, "query");
  auto keep = state_;
  const int format = s.options().binary_results ? 1 : 0;
  detail::result_ptr r = co_await s.run(statement(std::move(sql), std::move(params), format, 0));
  co_return result(r.release());
}

task<void> connection::execute_script(std::string sql) {
  connection_state& s = usable(state_, "execute_script");
  auto keep = state_;
  const std::uint64_t token = co_await s.acquire_exclusive();
  std::exception_ptr failure;
  try {
    co_await s.drain_and_leave_pipeline(token);
    co_await run_simple(s, sql);
  } catch (...) {
    failure = std::current_exception();
  }
  s.enter_pipeline();
  s.release_exclusive(token);
  if (failure) std::rethrow_exception(failure);
}

task<std::string> connection::prepare(std::string name, std::string sql) {
  connection_state& s = usable(state_, "prepare");
  auto keep = state_;
  auto r = std::make_shared<request>();
  r->what = request::kind::prepare;
  r->name = name;
  r->sql = std::move(sql);
  co_await s.run(std::move(r));
  co_return name;
}

task<result> connection::query_prepared(std::string name, std::vector<param> params) {
  connection_state& s = usable(state_, "query_prepared");
  auto keep = state_;
  auto r = statement({}, std::move(params), s.options().binary_results ? 1 : 0, 0);
  r->what = request::kind::query_prepared;
  r->name = std::move(name);
  detail::result_ptr res = co_await s.run(std::move(r));
  co_return result(res.release());
}

task<transaction> connection::begin(isolation level, bool read_only) {
  connection_state& s = usable(state_, "begin");
  auto keep = state_;
  const std::uint64_t token = co_await s.acquire_exclusive();
  std::string sql = isolation_sql(level);
  if (read_only) sql += " READ ONLY";
  try {
    co_await s.run(statement(std::move(sql), {}, 0, token));
  } catch (...) {
    s.release_exclusive(token);
    throw;
  }
  transaction t(state_, token);
  co_return t;
}

task<void> connection::listen(std::string channel) {
  connection_state& s = usable(state_, "listen");
  co_await query("LISTEN " + quoted_identifier(s.raw(), channel));
}

task<void> connection::unlisten(std::string channel) {
  connection_state& s = usable(state_, "unlisten");
  co_await query("UNLISTEN " + quoted_identifier(s.raw(), channel));
}

task<void> connection::notify(std::string channel, std::string payload) {
  std::vector<param> params(2);
  params[0].value = std::move(channel);
  params[1].value = std::move(payload);
  co_await query("SELECT pg_notify($1, $2)", std::move(params));
}

task<std::optional<notification>> connection::wait_notification(deadline until) {
  connection_state& s = usable(state_, "wait_notification");
  auto keep = state_;
  co_return co_await s.next_notification(until);
}

namespace {

// Starts a COPY: takes the exclusive section, leaves pipeline mode and sends `sql`, which must
// put the server in `expected` (COPY_IN or COPY_OUT). Returns the section's token, which the
// copy_writer / copy_reader then owns; on failure the section is given back.
task<std::uint64_t> start_copy(connection_state& s, const std::string& sql, ExecStatusType expected,
                               const char* call) {
  const std::uint64_t token = co_await s.acquire_exclusive();
  ExecStatusType got = PGRES_FATAL_ERROR;
  std::exception_ptr failure;
  try {
    co_await s.drain_and_leave_pipeline(token);
    detail::result_ptr r = co_await run_simple(s, sql);
    got = r ? PQresultStatus(r.get()) : PGRES_EMPTY_QUERY;
    if (got == expected) co_return token;
    throw usage_error(std::string("balrog::pg::connection::") + call + ": '" + sql +
                      (expected == PGRES_COPY_IN ? "' is not COPY ... FROM STDIN"
                                                 : "' is not COPY ... TO STDOUT"));
  } catch (...) {
    failure = std::current_exception();
  }
  // A COPY of the other direction has started on the server: end it as a dropped
  // copy_writer / copy_reader would. Otherwise the connection is idle: back to the pipeline.
  if (got == PGRES_COPY_IN) {
    s.abandon_copy(token, leftover::copy_in, "balrog: not the COPY direction asked for");
  } else if (got == PGRES_COPY_OUT) {
    s.abandon_copy(token, leftover::copy_out, nullptr);
  } else {
    s.enter_pipeline();
    s.release_exclusive(token);
  }
  std::rethrow_exception(failure);
}

}  // namespace

task<copy_writer> connection::copy_in(std::string sql) {
  connection_state& s = usable(state_, "copy_in");
  auto keep = state_;
  const std::uint64_t token = co_await start_copy(s, sql, PGRES_COPY_IN, "copy_in");
  copy_writer w(state_, token);
  co_return w;
}

task<copy_reader> connection::copy_out(std::string sql) {
  connection_state& s = usable(state_, "copy_out");
  auto keep = state_;
  const std::uint64_t token = co_await start_copy(s, sql, PGRES_COPY_OUT, "copy_out");
  copy_reader r(state_, token);
  co_return r;
}

task<void> connection::cancel() {
  connection_state& s = usable(state_, "cancel");
  auto keep = state_;
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
  if (open_ && state_) state_->release_with(token_, "ROLLBACK");
}

task<result> transaction::query(std::string sql, std::vector<param> params) {
  if (!open_) throw usage_error("balrog::pg::transaction::query: the transaction has ended");
  auto keep = state_;
  const int format = state_->options().binary_results ? 1 : 0;
  detail::result_ptr r =
      co_await state_->run(statement(std::move(sql), std::move(params), format, token_));
  co_return result(r.release());
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
  if (!open_) throw usage_error("balrog::pg::transaction::commit: the transaction has ended");
  auto keep = state_;
  open_ = false;
  std::exception_ptr failure;
  try {
    co_await state_->run(statement("COMMIT", {}, 0, token_));
  } catch (...) {
    failure = std::current_exception();
  }
  state_->release_exclusive(token_);
  if (failure) std::rethrow_exception(failure);
}

task<void> transaction::rollback() {
  if (!open_) throw usage_error("balrog::pg::transaction::rollback: the transaction has ended");
  auto keep = state_;
  open_ = false;
  std::exception_ptr failure;
  try {
    co_await state_->run(statement("ROLLBACK", {}, 0, token_));
  } catch (...) {
    failure = std::current_exception();
  }
  state_->release_exclusive(token_);
  if (failure) std::rethrow_exception(failure);
}

// --- COPY ----------------------------------------------------------------------------------

copy_writer::copy_writer(std::shared_ptr<detail::connection_state> s, std::uint64_t token) noexcept
    : state_(std::move(s)), token_(token), open_(true) {}
copy_writer::copy_writer(copy_writer&& o) noexcept
    : state_(std::move(o.state_)), token_(o.token_), open_(std::exchange(o.open_, false)) {}
copy_writer::~copy_writer() {
  if (!open_ || !state_ || !state_->open()) return;
  // Cannot wait here: the next user of the connection finishes the COPY.
  state_->abandon_copy(token_, leftover::copy_in,
                       "balrog: the copy_writer was destroyed before finish()");
}

task<void> copy_writer::write(std::string data) {
  if (!open_) throw usage_error("balrog::pg::copy_writer::write: the COPY has ended");
  auto keep = state_;
  try {
    co_await detail::put_copy_data(state_->raw(), data.data(), static_cast<int>(data.size()),
                                   deadline::never());
  } catch (const pg::error&) {
    open_ = false;  // the connection broke
    throw;
  } catch (...) {
    // Interrupted (cancelled, deadline): abandon the COPY as the destructor would.
    open_ = false;
    state_->abandon_copy(token_, leftover::copy_in, "balrog: the COPY's writer was cancelled");
    throw;
  }
}

task<std::uint64_t> copy_writer::finish() {
  if (!open_) throw usage_error("balrog::pg::copy_writer::finish: the COPY has ended");
  auto keep = state_;
  open_ = false;
  std::exception_ptr failure;
  std::uint64_t rows = 0;
  try {
    co_await detail::put_copy_end(state_->raw(), nullptr, deadline::never());
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
  state_->enter_pipeline();
  state_->release_exclusive(token_);
  if (failure) std::rethrow_exception(failure);
  co_return rows;
}

task<void> copy_writer::abort(std::string reason) {
  if (!open_) throw usage_error("balrog::pg::copy_writer::abort: the COPY has ended");
  auto keep = state_;
  open_ = false;
  std::exception_ptr failure;
  try {
    co_await detail::put_copy_end(state_->raw(), reason.c_str(), deadline::never());
    // The server answers with an error result (the copy failed, as asked): expected.
    while (co_await detail::next_result(state_->raw(), deadline::never())) {
    }
  } catch (...) {
    failure = std::current_exception();
  }
  state_->enter_pipeline();
  state_->release_exclusive(token_);
  if (failure) std::rethrow_exception(failure);
}

copy_reader::copy_reader(std::shared_ptr<detail::connection_state> s, std::uint64_t token) noexcept
    : state_(std::move(s)), token_(token), open_(true) {}
copy_reader::copy_reader(copy_reader&& o) noexcept
    : state_(std::move(o.state_)), token_(o.token_), open_(std::exchange(o.open_, false)) {}
copy_reader::~copy_reader() {
  if (!open_ || !state_ || !state_->open()) return;
  state_->abandon_copy(token_, leftover::copy_out, nullptr);
}

task<std::optional<std::string>> copy_reader::next() {
  if (!open_) co_return std::nullopt;
  auto keep = state_;
  std::optional<std::string> row;
  try {
    row = co_await detail::get_copy_data(state_->raw(), deadline::never());
  } catch (...) {
    // Interrupted mid-COPY (cancelled, deadline): the next user drains the rest.
    open_ = false;
    state_->abandon_copy(token_, leftover::copy_out, nullptr);
    throw;
  }
  if (row) co_return row;
  std::exception_ptr failure;
  try {
    // The end: the final status, then back to pipelining.
    open_ = false;
    std::exception_ptr first_error;
    while (auto r = co_await detail::next_result(state_->raw(), deadline::never())) {
      if (auto e = detail::error_from_result(r.get()); e && !first_error) first_error = e;
    }
    if (first_error) std::rethrow_exception(first_error);
  } catch (...) {
    failure = std::current_exception();
    open_ = false;
  }
  state_->enter_pipeline();
  state_->release_exclusive(token_);
  if (failure) std::rethrow_exception(failure);
  co_return std::nullopt;
}

}  // namespace balrog::pg
