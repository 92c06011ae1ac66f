// balrog/pg/connection.hpp — one PostgreSQL connection, coroutine-first.
//
//   auto conn = co_await balrog::pg::connection::connect("host=/tmp port=5432 dbname=app");
//   auto r = co_await conn.query("select name from person where id = $1", 42);
//
// Every operation is a balrog::task: co_await it in coroutine code, or call the generated
// blocking-style twin on a fiber or a plain thread (balrog/pg/generated/blocking.hpp). Under
// the hood libpq runs in non-blocking mode on the shard's reactor; nothing blocks a thread.
//
// Sharing and pipelining. Fibers and tasks of the connection's shard may share it. Their
// statements go out in libpq's pipeline mode: whatever is queued when the connection is ready
// to write is sent together, each statement followed by its own Sync, so an error in one
// statement fails only that statement's caller and never aborts its neighbours (each runs as
// its own implicit transaction, exactly as it would unpipelined). Results come back in order
// and each goes to its caller. With connect_options::pipeline off, statements take turns.
//
// Giving up. A caller that gives up (cancelled, deadline) before its statement was sent
// withdraws it; once sent, the statement runs and its result is dropped. The server is asked to
// cancel it only when that cannot hit anyone else's statement: it is the only one in flight,
// and nothing else is sent until the cancel has landed. A statement run under a deadline
// carries it to the server as its statement_timeout (connect_options), so the server stops it
// by itself. Session settings (SET search_path, TimeZone, statement_timeout...) apply to every
// fiber sharing the connection: change them inside a transaction (SET LOCAL) or on a
// connection of your own.
//
// Exclusive use. A transaction (begin()), COPY, execute_script() and stream() need the
// connection to themselves: they wait their turn, and while one is open other callers'
// statements wait (they are never sent inside it). Inside a transaction, use the transaction's
// own functions (it has query, copy_in, copy_out, execute_script, stream...): the fiber holding
// a transaction that calls the connection directly gets balrog::usage_error (it would wait for
// itself). A connection belongs to the shard that connected it: using it from another thread
// throws balrog::usage_error.
//
// Errors: pg::error and its subclasses (balrog/pg/error.hpp); balrog::timeout_error for a
// deadline_scope; balrog::cancelled when the caller is cancelled; balrog::usage_error for a
// misuse (65,536 parameters or more, COPY ... STDIN through query(), using a closed
// connection...), which fails only that call. A broken connection throws pg::connection_error
// from then on; the pool (balrog/pg/pool.hpp) replaces it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/pg/result.hpp"
#include "balrog/pg/types.hpp"
#include "balrog/task.hpp"

struct pg_conn;  // libpq's PGconn

namespace balrog::pg {

namespace detail {
class connection_state;
}

// A message the server sent that is not an error (NOTICE, WARNING, INFO...): "there is
// already a transaction in progress", RAISE NOTICE in PL/pgSQL, "table ... does not exist,
// skipping".
struct notice {
  std::string severity;  // "NOTICE", "WARNING", "INFO", "LOG", "DEBUG" (not localized)
  std::string sqlstate;
  std::string message;
  std::string detail;
  std::string hint;
};

struct connect_options {
  // Bounds the whole setup: name resolution, TCP, TLS, authentication, every host of a
  // multi-host conninfo. Zero: no bound of ours. A connect_timeout in the conninfo (or
  // PGCONNECT_TIMEOUT) applies per host, as libpq does it: the connection is then made by
  // libpq's own blocking connect on the offload pool (so does a multi-host conninfo, whose later
  // hosts' names libpq would otherwise resolve on the shard).
  std::chrono::milliseconds timeout{10'000};
  // Pipelines the statements of concurrent callers (see above). false: they take turns, one
  // round trip each — only useful to measure what pipelining gains.
  bool pipeline = true;
  // Prepared statements kept per connection for parameterized query() texts, least recently
  // used evicted (DEALLOCATE). A statement text is prepared on its second use. Costs server
  // memory per statement. 0 turns the cache off — recommended behind a pooler in transaction
  // mode (PgBouncer before 1.21), which cannot keep prepared statements between transactions;
  // when the server reports a missing prepared statement the connection turns it off itself.
  std::size_t statement_cache = 256;
  // Ask for results in binary format (decoding skips text parsing; every value_codec reads
  // both formats). Default: text.
  bool binary_results = false;
  // A query or DML statement (SELECT, INSERT, UPDATE, DELETE, MERGE, WITH, VALUES, TABLE) run
  // under a deadline (balrog::deadline_scope) is preceded, in the same pipeline segment, by
  // one that sets statement_timeout to the time left (unless the session's is shorter), so the
  // server stops it by itself when the caller gives up; inside a transaction block another
  // statement puts the session's value back. Costs one (two) small statements per such call;
  // statements without a deadline are not touched. false: the deadline is the client's only.
  bool deadline_statement_timeout = true;
  // Called for each notice, on whatever fiber is reading the connection at that moment: it must
  // not wait or use the connection. Exceptions it throws are dropped. Empty: libpq's default,
  // which prints the message on stderr.
  std::function<void(const notice&)> on_notice{};
};

enum class isolation { read_committed, repeatable_read, serializable };

struct notification {
  std::string channel;
  std::string payload;
  int backend_pid = 0;
};

class transaction;
class copy_writer;
class copy_reader;
class row_stream;
namespace detail {
class pool_state;
}

class connection {
 public:
  // Connects with a libpq conninfo string ("host=... port=... dbname=..." or a postgres:// URI).
  // Throws connection_error (with libpq's message), timeout_error.
  static task<connection> connect(std::string conninfo, connect_options options = {});

  connection() noexcept;  // not connected
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();  // closes; statements still running are abandoned

  // One statement (extended protocol), with parameters $1, $2... Text results unless
  // connect_options::binary_results.
  task<result> query(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<result> query(std::string sql, const A& first, const More&... more) {
    return query(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  // The same, for a statement that must return exactly one row (else pg::unexpected_rows:
  // 02000 for none, 21000 for more) — r.one<T>() reads it — or at most one (query_opt).
  task<result> query_one(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<result> query_one(std::string sql, const A& first, const More&... more) {
    return query_one(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  task<result> query_opt(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<result> query_opt(std::string sql, const A& first, const More&... more) {
    return query_opt(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  // A statement run for its effect: the number of rows it inserted, updated, deleted, copied...
  task<std::uint64_t> execute(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<std::uint64_t> execute(std::string sql, const A& first, const More&... more) {
    return execute(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  // A large result row by row (libpq's single-row mode): memory holds one row at a time. The
  // stream has the connection to itself until its end (like COPY).
  task<row_stream> stream(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<row_stream> stream(std::string sql, const A& first, const More&... more) {
    return stream(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }

  // Several statements separated by semicolons, no parameters (simple protocol), run alone.
  task<void> execute_script(std::string sql);

  // An explicit server-side prepared statement; execute it with query_prepared.
  task<std::string> prepare(std::string name, std::string sql);
  task<result> query_prepared(std::string name, std::vector<param> params = {});

  // BEGIN [ISOLATION LEVEL ...]: the transaction has the connection to itself until it commits
  // or rolls back; destroying it while open rolls back.
  task<transaction> begin(isolation level = isolation::read_committed, bool read_only = false);

  // LISTEN/NOTIFY. wait_notification returns the next notification for a LISTENed channel, or
  // nullopt when `until` passes first.
  task<void> listen(std::string channel);
  task<void> unlisten(std::string channel);
  task<void> notify(std::string channel, std::string payload);
  task<std::optional<notification>> wait_notification(deadline until = deadline::never());

  // COPY ... FROM STDIN / TO STDOUT, streamed. The connection is exclusive until the copy
  // finishes. A statement that is not a COPY of the asked direction throws usage_error (a COPY
  // it started the other way is ended first).
  task<copy_writer> copy_in(std::string sql);
  task<copy_reader> copy_out(std::string sql);

  // Asks the server to cancel whatever it is running for this connection right now (PQcancel
  // on the offload pool); that statement's caller gets query_cancelled. On a connection shared
  // by several fibers it may be another fiber's statement: to stop your own, give up on it
  // (a deadline_scope, fiber cancellation), which cancels only what is safe to cancel.
  task<void> cancel();

  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept;
  [[nodiscard]] int server_version() const noexcept;  // e.g. 150018
  [[nodiscard]] int backend_pid() const noexcept;
  [[nodiscard]] pg_conn* native_handle() const noexcept;

 private:
  friend class transaction;
  friend class copy_writer;
  friend class copy_reader;
  friend class detail::pool_state;
  explicit connection(std::shared_ptr<detail::connection_state> s) noexcept;
  std::shared_ptr<detail::connection_state> state_;
};

// A transaction: BEGIN on begin(), COMMIT or ROLLBACK at the end. Until then it has the
// connection to itself. Statements of the transaction go through it (query, copy_in,
// execute_script...); a statement that fails aborts the transaction, as PostgreSQL does
// (later statements get in_failed_sql_transaction, 25P02) until rollback() or rollback_to() a
// savepoint.
class transaction {
 public:
  transaction(transaction&&) noexcept;
  transaction& operator=(transaction&&) = delete;
  transaction(const transaction&) = delete;
  ~transaction();  // rolls back if still open (queued at once; nothing else runs in between)

  // As the connection's (query, query_one, query_opt, execute, stream), inside the
  // transaction.
  task<result> query(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<result> query(std::string sql, const A& first, const More&... more) {
    return query(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  task<result> query_one(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<result> query_one(std::string sql, const A& first, const More&... more) {
    return query_one(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  task<result> query_opt(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<result> query_opt(std::string sql, const A& first, const More&... more) {
    return query_opt(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  task<std::uint64_t> execute(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<std::uint64_t> execute(std::string sql, const A& first, const More&... more) {
    return execute(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  task<row_stream> stream(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<row_stream> stream(std::string sql, const A& first, const More&... more) {
    return stream(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  // Inside the transaction: COPY (the ETL pattern BEGIN; COPY into staging; INSERT ... SELECT;
  // COMMIT) and scripts. The transaction keeps the connection when they end.
  task<copy_writer> copy_in(std::string sql);
  task<copy_reader> copy_out(std::string sql);
  task<void> execute_script(std::string sql);
  task<void> savepoint(std::string name);
  task<void> release(std::string name);
  task<void> rollback_to(std::string name);
  // COMMIT. Throws, and the transaction has ended either way:
  //  - transaction_rollback (40000) when the server rolled back instead (a statement of the
  //    transaction had failed: PostgreSQL answers COMMIT with the tag ROLLBACK), or the
  //    server's error for a COMMIT that failed (a deferred constraint, 40001...): nothing was
  //    committed;
  //  - commit_in_doubt (08007) when the COMMIT was sent and its outcome cannot be known: the
  //    connection broke before the reply came, or the caller gave up (deadline, fiber
  //    cancellation) while waiting for it. The server may have committed. Do not simply retry:
  //    look at the data (or record a transaction id, txid_current(), and ask
  //    txid_status() on a new connection);
  //  - timeout_error / cancelled when the caller gave up before the COMMIT could be sent: a
  //    ROLLBACK is sent instead (nothing is committed);
  //  - connection_error when the connection was already broken: nothing was committed.
  task<void> commit();
  // ROLLBACK; still sent if the caller gives up while waiting.
  task<void> rollback();
  [[nodiscard]] bool is_open() const noexcept { return open_; }

 private:
  friend class connection;
  transaction(std::shared_ptr<detail::connection_state> s, std::uint64_t token) noexcept;
  void check_open(const char* call) const;
  std::shared_ptr<detail::connection_state> state_;
  std::uint64_t token_ = 0;
  bool open_ = false;
};

// COPY ... FROM STDIN. The COPY ends with finish() or abort(); a writer dropped (or whose
// write() is interrupted) before that aborts it: the next user of the connection sends the
// CopyFail and reads the outcome before anything else runs.
class copy_writer {
 public:
  copy_writer(copy_writer&&) noexcept;
  copy_writer& operator=(copy_writer&&) = delete;
  ~copy_writer();  // aborts the COPY if not finished
  // Sends data (any chunking; rows need not align). Waits while libpq's buffer is full.
  task<void> write(std::string data);
  // Ends the COPY; returns the number of rows copied. A bad row fails here with pg::error.
  // Interrupted (deadline, cancellation) after the end was sent, the COPY completes on the
  // server without telling the caller; before, it is aborted.
  task<std::uint64_t> finish();
  // Ends the COPY with an error: the server discards everything.
  task<void> abort(std::string reason);

 private:
  friend class connection;
  friend class transaction;
  copy_writer(std::shared_ptr<detail::connection_state> s, std::uint64_t token,
              bool owns_section) noexcept;
  task<void> end(const char* error_message);
  std::shared_ptr<detail::connection_state> state_;
  std::uint64_t token_ = 0;
  bool owns_section_ = true;  // false inside a transaction: it keeps the connection after
  bool open_ = false;
};

class copy_reader {
 public:
  copy_reader(copy_reader&&) noexcept;
  copy_reader& operator=(copy_reader&&) = delete;
  // Dropped before the end: the server is asked to stop, and the next user of the connection
  // drains what it had sent before anything else runs.
  ~copy_reader();
  // The next row (one line in text format, with its newline), or nullopt at the end.
  task<std::optional<std::string>> next();

 private:
  friend class connection;
  friend class transaction;
  copy_reader(std::shared_ptr<detail::connection_state> s, std::uint64_t token,
              bool owns_section) noexcept;
  std::shared_ptr<detail::connection_state> state_;
  std::uint64_t token_ = 0;
  bool owns_section_ = true;
  bool open_ = false;
};

// Rows of one statement, one at a time (connection::stream, transaction::stream).
//
//   auto rows = co_await conn.stream("select id, payload from events where day = $1", day);
//   while (auto row = co_await rows.next()) handle(row->get<std::int64_t>(0), ...);
//
// Each row is read when asked for; the statement's error (if it fails half-way) is thrown by
// next() after the rows before it. A stream dropped before its end asks the server to stop,
// and the next user of the connection drains what was already sent.
class row_stream {
 public:
  row_stream(row_stream&&) noexcept;
  row_stream& operator=(row_stream&&) = delete;
  row_stream(const row_stream&) = delete;
  row_stream& operator=(const row_stream&) = delete;
  ~row_stream();
  // The next row, or nullopt at the end. The row is a view, valid until the next call of next()
  // (or the stream's destruction or move).
  task<std::optional<row>> next();

 private:
  friend class connection;
  friend class transaction;
  row_stream(std::shared_ptr<detail::connection_state> s, std::uint64_t token,
             bool owns_section) noexcept;
  std::shared_ptr<detail::connection_state> state_;
  std::uint64_t token_ = 0;
  bool owns_section_ = true;
  bool open_ = false;
  result current_;
};

}  // namespace balrog::pg
