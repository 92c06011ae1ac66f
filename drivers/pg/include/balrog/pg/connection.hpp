// balrog/pg/connection.hpp — one PostgreSQL connection, coroutine-first.
//
//   auto conn = co_await balrog::pg::connection::connect("host=/tmp port=5432 dbname=app");
//   auto r = co_await conn.query("select name from person where id = $1", 42);
//
// Every operation is a balrog::task: co_await it in coroutine code, or call the generated
// blocking-style twin on a fiber or a plain thread (balrog/pg/blocking.hpp). Under the hood
// libpq runs in non-blocking mode on the shard's reactor; nothing blocks a thread.
//
// Sharing and pipelining. Fibers and tasks of the connection's shard may share it. Their
// statements go out in libpq's pipeline mode: whatever is queued when the connection is ready
// to write is sent in one flush, each statement followed by its own Sync, so an error in one
// statement fails only that statement's caller and never aborts its neighbours (each runs as
// its own implicit transaction, exactly as it would unpipelined). Results come back in order
// and each goes to its caller. A caller that gives up (cancelled, deadline) leaves its
// statement to run; its result is dropped, and if it was the statement the server was running,
// the server is asked to cancel it. With connect_options::pipeline off, statements take turns.
//
// Exclusive use. A transaction (begin()), COPY, and execute_script() need the connection to
// themselves: while one is open, other callers' statements wait (they are not sent inside the
// transaction). A connection belongs to the shard that connected it: using it from another
// thread throws balrog::usage_error.
//
// Errors: pg::error and its subclasses (balrog/pg/error.hpp); balrog::timeout_error for a
// deadline_scope; balrog::cancelled when the caller is cancelled. A broken connection throws
// pg::connection_error from then on; the pool (balrog/pg/pool.hpp) replaces it.
#pragma once

#include <chrono>
#include <cstdint>
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

struct connect_options {
  // Bounds the whole setup: name resolution, TCP, TLS, authentication. Zero: no bound beyond
  // libpq's own connect_timeout (from the conninfo).
  std::chrono::milliseconds timeout{10'000};
  // Pipelines the statements of concurrent callers (see above). false: they take turns, one
  // round trip each — only useful to measure what pipelining gains.
  bool pipeline = true;
  // Prepared statements kept per connection for parameterized query() texts, least recently
  // used evicted (DEALLOCATE). A statement text is prepared on its second use. Costs server
  // memory per statement. 0 turns the cache off — required behind a pooler in transaction
  // mode (PgBouncer), which cannot keep prepared statements between transactions; when the
  // server reports a lost or duplicate prepared statement the connection turns it off itself.
  std::size_t statement_cache = 256;
  // Ask for results in binary format (decoding skips text parsing; every value_codec reads
  // both formats). Default: text.
  bool binary_results = false;
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
  // finishes.
  task<copy_writer> copy_in(std::string sql);
  task<copy_reader> copy_out(std::string sql);

  // Asks the server to cancel the statement it is running for this connection (PQcancel on the
  // offload pool). The cancelled statement's caller gets query_cancelled.
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
  explicit connection(std::shared_ptr<detail::connection_state> s) noexcept;
  std::shared_ptr<detail::connection_state> state_;
};

class transaction {
 public:
  transaction(transaction&&) noexcept;
  transaction& operator=(transaction&&) = delete;
  transaction(const transaction&) = delete;
  ~transaction();  // rolls back if still open (queued at once; nothing else runs in between)

  task<result> query(std::string sql, std::vector<param> params = {});
  template <class A, class... More>
    requires(!std::is_same_v<std::decay_t<A>, std::vector<param>>)
  task<result> query(std::string sql, const A& first, const More&... more) {
    return query(std::move(sql), std::vector<param>{to_param(first), to_param(more)...});
  }
  task<void> savepoint(std::string name);
  task<void> release(std::string name);
  task<void> rollback_to(std::string name);
  task<void> commit();
  task<void> rollback();
  [[nodiscard]] bool is_open() const noexcept { return open_; }

 private:
  friend class connection;
  transaction(std::shared_ptr<detail::connection_state> s, std::uint64_t token) noexcept;
  std::shared_ptr<detail::connection_state> state_;
  std::uint64_t token_ = 0;
  bool open_ = false;
};

class copy_writer {
 public:
  copy_writer(copy_writer&&) noexcept;
  copy_writer& operator=(copy_writer&&) = delete;
  ~copy_writer();  // aborts the COPY if not finished
  // Sends data (any chunking; rows need not align). Waits while libpq's buffer is full.
  task<void> write(std::string data);
  // Ends the COPY; returns the number of rows copied. A bad row fails here with pg::error.
  task<std::uint64_t> finish();
  // Ends the COPY with an error: the server discards everything.
  task<void> abort(std::string reason);

 private:
  friend class connection;
  copy_writer(std::shared_ptr<detail::connection_state> s, std::uint64_t token) noexcept;
  std::shared_ptr<detail::connection_state> state_;
  std::uint64_t token_ = 0;
  bool open_ = false;
};

class copy_reader {
 public:
  copy_reader(copy_reader&&) noexcept;
  copy_reader& operator=(copy_reader&&) = delete;
  ~copy_reader();  // drains the rest of the COPY in the background
  // The next row (one line in text format, with its newline), or nullopt at the end.
  task<std::optional<std::string>> next();

 private:
  friend class connection;
  copy_reader(std::shared_ptr<detail::connection_state> s, std::uint64_t token) noexcept;
  std::shared_ptr<detail::connection_state> state_;
  std::uint64_t token_ = 0;
  bool open_ = false;
};

}  // namespace balrog::pg
