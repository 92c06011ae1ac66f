// Multiplexing of compat connections (docs/pg-compat.md, "Many sessions, few server
// connections"): virtual PGconn's over a few physical connections per conninfo and thread.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <functional>
#include <string_view>

namespace balrog::compat::mux {

struct vconn;

// True once multiplexing has been enabled (API or environment): until then no PGconn is
// looked up.
extern std::atomic<bool> ever_enabled;

// Physical connections per conninfo, from set_multiplex or BALROG_PG_MULTIPLEX; 0: off.
int physical_per_conninfo() noexcept;

// A virtual connection over the physical ones of `conninfo` (on this thread), or nullptr when
// multiplexing does not apply (then connect normally). A failed first physical connection is
// returned as is (a real PGconn with CONNECTION_BAD and libpq's message).
PGconn* connect(const char* conninfo);

// compat::PQconnectdb without multiplexing (a physical connection).
PGconn* connect_physical(const char* conninfo);

// The virtual connection behind `conn`, or nullptr for a real one.
inline vconn* find(PGconn* conn) noexcept;
vconn* lookup(const PGconn* conn) noexcept;
inline vconn* find(PGconn* conn) noexcept {
  if (!ever_enabled.load(std::memory_order_relaxed) || conn == nullptr) return nullptr;
  return lookup(conn);
}

// A statement as PQexecParams takes it (PQexec: no parameters), for the pipeline.
struct statement {
  const char* sql = "";
  int n_params = 0;
  const Oid* types = nullptr;
  const char* const* values = nullptr;
  const int* lengths = nullptr;
  const int* formats = nullptr;
  int result_format = 0;
};

// Runs a statement for `v`. A shared `v` whose statement pipelines (`st` given, and
// pipelines(text)) has it pipelined on a shared physical connection; otherwise `run` (the
// compat call) runs it on the physical connection `v` is pinned to, pinning it first. Pins or
// unpins afterwards. `text` is the SQL (empty when there is none to inspect); `pin_for_life`
// pins regardless.
PGresult* exec(vconn* v, std::string_view text, bool pin_for_life, const statement* st,
               const std::function<PGresult*(PGconn*)>& run);

// The physical connection `v` is pinned to, pinning it for life first (the asynchronous API,
// large objects, PQfn). nullptr when that failed (::PQerrorMessage(v) says why).
PGconn* pin_for_life(vconn* v);
// The physical connection `v` is pinned to, or its placeholder (a real PGconn in
// CONNECTION_BAD on which libpq's own calls fail at once) when it is not pinned.
PGconn* target(vconn* v) noexcept;
// After an asynchronous call on the pinned connection: notices a lost connection.
void after_raw(vconn* v) noexcept;

void finish(vconn* v);
void reset(vconn* v);
ConnStatusType status(vconn* v) noexcept;
PGTransactionStatusType transaction_status(vconn* v) noexcept;
char* error_message(vconn* v) noexcept;
int socket(vconn* v) noexcept;
int backend_pid(vconn* v) noexcept;
const char* parameter_status(vconn* v, const char* name) noexcept;

// The statement rules of docs/pg-compat.md: true when `sql` may leave session state that the
// protocol does not report (LISTEN, PREPARE, SET without LOCAL, temporary objects, advisory
// locks...). Exposed for tests.
bool pins_for_life(std::string_view sql) noexcept;
// True when a shared session's `sql` goes into a physical connection's pipeline: one statement
// that begins with SELECT, INSERT, UPDATE, DELETE, WITH, VALUES, TABLE, MERGE or SHOW and does
// not pin for life. Anything else (BEGIN, COPY, DDL, several statements...) runs on a
// connection pinned for it, after the statements before it on that connection are done.
// Exposed for tests.
bool pipelines(std::string_view sql) noexcept;

// For the calls that work on the server session directly (the asynchronous API, large
// objects, PQfn): a virtual connection is pinned for life and its physical connection is used
// (its placeholder when that failed, on which libpq's call fails at once). A real one as is.
inline PGconn* raw(PGconn* conn) {
  vconn* v = find(conn);
  if (v == nullptr) return conn;
  PGconn* p = pin_for_life(v);
  return p != nullptr ? p : target(v);
}
// For the calls that continue what a statement started (PQgetResult, COPY data): the pinned
// physical connection, or the placeholder when nothing is in progress.
inline PGconn* current(PGconn* conn) noexcept {
  vconn* v = find(conn);
  return v != nullptr ? target(v) : conn;
}

}  // namespace balrog::compat::mux
