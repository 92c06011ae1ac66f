// The Postgres protocol, written once: coroutines that drive libpq in non-blocking mode over
// the shard's reactor (psycopg 3's generators, in C++). Everything else — pg::connection and
// its pipelining, the generated blocking-style API, the libpq compat layer (PQexec & co. on
// fibers) — is built on these few steps, on fibers through balrog::await.
//
// Every step takes the deadline that bounds it (combined with any deadline_scope) and throws
// balrog::timeout_error when it passes, balrog::cancelled when the caller is cancelled, and
// pg::connection_error when libpq reports the connection broken. Steps never block a thread.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/io.hpp"
#include "balrog/task.hpp"

namespace balrog::pg::detail {

struct result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

// Ends the socket's registration with the reactor (wait/socket_registration.hpp), then
// PQfinish.
struct connection_deleter {
  void operator()(PGconn* c) const noexcept;
};
using connection_ptr = std::unique_ptr<PGconn, connection_deleter>;

// libpq's last error message, trimmed, or `fallback`.
std::string last_error(const PGconn* conn, const char* fallback = "unknown libpq error");
// Throws pg::connection_error with libpq's message, prefixed by `what`.
[[noreturn]] void throw_connection_error(const PGconn* conn, const std::string& what);

// OpenSSL holds decrypted input that libpq has not read yet. The socket does not show it as
// readable, so every wait for input checks this first (libpq's own pqWait does the same).
bool tls_input_pending(const PGconn* conn) noexcept;

// Waits until libpq has input to read: the socket is readable, or OpenSSL already holds some.
task<void> wait_input(const PGconn* conn, deadline until, const char* doing);

// co_await socket_readable(conn, until, doing): waits for conn's socket through its
// registration with the reactor (no system call per wait) when it has one — a connection
// connect() made —, else plainly (balrog::readable). Throws pg::connection_error ("<doing>:
// the connection has no socket") when libpq has none, then what the wait throws.
fd_awaiter socket_readable(const PGconn* conn, deadline until, const char* doing);
fd_awaiter socket_writable(const PGconn* conn, deadline until, const char* doing);

// Starts connecting (PQconnectStartParams on the offload pool: libpq may resolve host names
// and read ~/.pgpass or service files there) and drives PQconnectPoll to the end. Returns a
// connection in non-blocking mode.
task<connection_ptr> connect(std::vector<std::pair<std::string, std::string>> params,
                             deadline until);
// Drives PQconnectPoll (or PQresetPoll) on a started connection to the end.
task<void> finish_connect(PGconn* conn, deadline until, bool resetting = false);

// Flushes libpq's output buffer. While the socket is not writable it waits for readable too and
// reads, because the server may be waiting for us to read before it reads more (libpq's
// pqSendSome and psycopg do the same).
task<void> flush(PGconn* conn, deadline until);

// The next result of the current query, or null when it has no more. In pipeline mode also
// returns PGRES_PIPELINE_SYNC results.
task<result_ptr> next_result(PGconn* conn, deadline until);

// Waits for the server to send something outside any query (a notification, a notice, the
// connection closing) and reads it into libpq (PQnotifies then has it). False when `until`
// passed first; an enclosing deadline_scope still throws timeout_error.
task<bool> read_input(PGconn* conn, deadline until);

// COPY: queue data / the end marker (waiting while libpq's buffer is full), and read rows.
task<void> put_copy_data(PGconn* conn, const char* data, int size, deadline until);
task<void> put_copy_end(PGconn* conn, const char* error_message, deadline until);
// One row of COPY TO STDOUT, or nullopt at the end (then next_result() has the final status).
task<std::optional<std::string>> get_copy_data(PGconn* conn, deadline until);

// Asks the server to cancel the connection's running statement (PQcancel, which blocks, runs
// on the offload pool). Returns libpq's complaint, empty on success.
task<std::string> request_cancel(PGconn* conn);

}  // namespace balrog::pg::detail
