// PQexec and its siblings, PQgetResult and the COPY calls of balrog/pg/compat/libpq.hpp.
//
// On a fiber each PQexec-like call does what libpq's does (fe-exec.c: PQexecStart, PQsend*,
// PQexecFinish) with the non-blocking API: discard unread results (ending a COPY in progress),
// send in non-blocking mode and flush, then collect results with libpq's PQgetResult, called
// only once PQisBusy says it will not block. Results and messages are therefore libpq's own.
#include <libpq-fe.h>

#include <cstdint>

#include "balrog/pg/compat/libpq.hpp"
#include "compat/libpq_mux.hpp"
#include "compat/libpq_wait.hpp"

namespace balrog::compat {

namespace {

using pq::input;
using pq::place;

// libpq's own text (its catalogue may translate it; this one is not).
constexpr const char* copy_terminated = "COPY terminated by new PQexec";

// PQputCopyEnd on a connection in non-blocking mode: queue the end (waiting while libpq's
// buffer is full), then flush. -1 when libpq fails; -2 when the wait fails (errno).
int put_copy_end_queued(PGconn* conn, const char* errormsg) noexcept {
  for (;;) {
    const int r = ::PQputCopyEnd(conn, errormsg);
    if (r < 0) return -1;
    if (r > 0) break;
    if (!pq::wait_socket(::PQsocket(conn), false, true)) return -2;
  }
  return pq::flush_all(conn) ? 1 : -2;
}

// Reads and drops the rest of a COPY TO STDOUT (libpq drops it the same way when PQexec ends a
// COPY OUT). False when the wait failed.
bool drop_copy_out(PGconn* conn) noexcept {
  for (;;) {
    char* row = nullptr;
    const int n = ::PQgetCopyData(conn, &row, 1);
    if (n > 0) {
      PQfreemem(row);
      continue;
    }
    if (n < 0) return true;  // -1: done; -2: broken (PQgetResult reports it)
    switch (pq::read_input(conn)) {
      case input::read:
        break;
      case input::closed:
      case input::broken:
        return true;
      case input::interrupted:
        return false;
    }
  }
}

// No COPY can be in progress (libpq's COPY calls then fail at once, without I/O): the
// connection is idle or broken.
bool no_copy_possible(const PGconn* conn) noexcept {
  return ::PQtransactionStatus(conn) != PQTRANS_ACTIVE;
}

enum class start : std::uint8_t { ready, use_libpq, failed };

// fe-exec.c's PQexecStart after its error-state reset: discard results the application did
// not read. use_libpq: a COPY BOTH is going on, which libpq's own call refuses at once.
start discard_unread(PGconn* conn) noexcept {
  for (;;) {
    if (!pq::wait_result_ready(conn)) return start::failed;
    PGresult* r = ::PQgetResult(conn);
    if (r == nullptr) return start::ready;
    const ExecStatusType status = PQresultStatus(r);
    PQclear(r);
    if (status == PGRES_COPY_IN) {
      if (put_copy_end_queued(conn, copy_terminated) < 0) return start::failed;
    } else if (status == PGRES_COPY_OUT) {
      if (!drop_copy_out(conn)) return start::failed;
    } else if (status == PGRES_COPY_BOTH) {
      return start::use_libpq;
    }
    if (::PQstatus(conn) == CONNECTION_BAD) return start::failed;
  }
}

// fe-exec.c's PQexecFinish: the last result, stopping at COPY states and at a lost connection.
PGresult* collect_results(PGconn* conn) noexcept {
  PGresult* last = nullptr;
  for (;;) {
    if (!pq::wait_result_ready(conn)) {
      PQclear(last);
      return nullptr;
    }
    PGresult* r = ::PQgetResult(conn);
    if (r == nullptr) return last;
    PQclear(last);
    last = r;
    const ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH ||
        ::PQstatus(conn) == CONNECTION_BAD) {
      return last;
    }
  }
}

// A PQexec-like call: `blocking` is libpq's own function, `send` the PQsend* it is made of.
template <class Blocking, class Send>
PGresult* exec_like(PGconn* conn, Blocking blocking, Send send) {
  if (conn == nullptr || pq::sync_mode()) return blocking();
  // libpq refuses these in pipeline mode, at once and without I/O.
  if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF) return blocking();
  // Switching to non-blocking mode clears the error state as PQexecStart does.
  pq::nonblocking_for_send nb(conn);
  switch (discard_unread(conn)) {
    case start::ready:
      break;
    case start::use_libpq:
      nb.restore();
      return blocking();
    case start::failed:
      return nullptr;
  }
  if (send() != 0) {
    if (!pq::flush_all(conn)) return nullptr;
    nb.restore();  // a command is queued now: this does not clear the error state
    return collect_results(conn);
  }
  // Not sent: libpq found the problem (an argument, a broken connection) before any I/O.
  if (!pq::report_again(conn, nb)) return nullptr;
  if (send() == 0) return nullptr;
  return collect_results(conn);
}

}  // namespace

PGresult* PQexec(PGconn* conn, const char* query) {
  if (mux::vconn* v = mux::find(conn)) {
    mux::statement st;
    st.sql = query != nullptr ? query : "";
    return mux::exec(v, st.sql, false, query != nullptr ? &st : nullptr,
                     [&](PGconn* c) { return compat::PQexec(c, query); });
  }
  return exec_like(
      conn, [&] { return ::PQexec(conn, query); }, [&] { return ::PQsendQuery(conn, query); });
}

PGresult* PQexecParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                       const char* const* paramValues, const int* paramLengths,
                       const int* paramFormats, int resultFormat) {
  if (mux::vconn* v = mux::find(conn)) {
    const mux::statement st{command != nullptr ? command : "",
                            nParams,
                            paramTypes,
                            paramValues,
                            paramLengths,
                            paramFormats,
                            resultFormat};
    return mux::exec(v, st.sql, false, command != nullptr ? &st : nullptr, [&](PGconn* c) {
      return compat::PQexecParams(c, command, nParams, paramTypes, paramValues, paramLengths,
                                  paramFormats, resultFormat);
    });
  }
  return exec_like(
      conn,
      [&] {
        return ::PQexecParams(conn, command, nParams, paramTypes, paramValues, paramLengths,
                              paramFormats, resultFormat);
      },
      [&] {
        return ::PQsendQueryParams(conn, command, nParams, paramTypes, paramValues, paramLengths,
                                   paramFormats, resultFormat);
      });
}

PGresult* PQprepare(PGconn* conn, const char* stmtName, const char* query, int nParams,
                    const Oid* paramTypes) {
  if (mux::vconn* v = mux::find(conn)) {
    // A prepared statement lives in the server session: pinned for life.
    return mux::exec(v, "", true, nullptr, [&](PGconn* c) {
      return compat::PQprepare(c, stmtName, query, nParams, paramTypes);
    });
  }
  return exec_like(
      conn, [&] { return ::PQprepare(conn, stmtName, query, nParams, paramTypes); },
      [&] { return ::PQsendPrepare(conn, stmtName, query, nParams, paramTypes); });
}

PGresult* PQexecPrepared(PGconn* conn, const char* stmtName, int nParams,
                         const char* const* paramValues, const int* paramLengths,
                         const int* paramFormats, int resultFormat) {
  if (mux::vconn* v = mux::find(conn)) {
    return mux::exec(v, "", true, nullptr, [&](PGconn* c) {
      return compat::PQexecPrepared(c, stmtName, nParams, paramValues, paramLengths, paramFormats,
                                    resultFormat);
    });
  }
  return exec_like(
      conn,
      [&] {
        return ::PQexecPrepared(conn, stmtName, nParams, paramValues, paramLengths, paramFormats,
                                resultFormat);
      },
      [&] {
        return ::PQsendQueryPrepared(conn, stmtName, nParams, paramValues, paramLengths,
                                     paramFormats, resultFormat);
      });
}

PGresult* PQdescribePrepared(PGconn* conn, const char* stmt) {
  if (mux::vconn* v = mux::find(conn)) {
    return mux::exec(v, "", true, nullptr,
                     [&](PGconn* c) { return compat::PQdescribePrepared(c, stmt); });
  }
  return exec_like(
      conn, [&] { return ::PQdescribePrepared(conn, stmt); },
      [&] { return ::PQsendDescribePrepared(conn, stmt); });
}

PGresult* PQdescribePortal(PGconn* conn, const char* portal) {
  if (mux::vconn* v = mux::find(conn)) {
    return mux::exec(v, "", true, nullptr,
                     [&](PGconn* c) { return compat::PQdescribePortal(c, portal); });
  }
  return exec_like(
      conn, [&] { return ::PQdescribePortal(conn, portal); },
      [&] { return ::PQsendDescribePortal(conn, portal); });
}

PGresult* PQgetResult(PGconn* conn) {
  if (mux::vconn* v = mux::find(conn)) {
    PGresult* r = compat::PQgetResult(mux::target(v));
    if (r == nullptr) mux::after_raw(v);  // the command is over: unpin when nothing is left
    return r;
  }
  if (conn == nullptr || pq::sync_mode()) return ::PQgetResult(conn);
  if (!pq::wait_result_ready(conn)) return nullptr;
  return ::PQgetResult(conn);
}

int PQputCopyData(PGconn* conn, const char* buffer, int nbytes) {
  conn = mux::current(conn);
  if (conn == nullptr || pq::sync_mode() || pq::user_nonblocking(conn) || no_copy_possible(conn)) {
    return ::PQputCopyData(conn, buffer, nbytes);
  }
  pq::nonblocking_for_send nb(conn);
  if (PQisnonblocking(conn) == 0) return ::PQputCopyData(conn, buffer, nbytes);  // broken
  for (;;) {
    const int r = ::PQputCopyData(conn, buffer, nbytes);
    if (r > 0) break;
    if (r < 0) {
      if (!pq::report_again(conn, nb)) return -1;
      return ::PQputCopyData(conn, buffer, nbytes);
    }
    // 0: libpq's buffer is full and the socket too.
    if (!pq::wait_socket(::PQsocket(conn), true, true)) return -1;
  }
  if (!pq::flush_all(conn)) return -1;
  nb.restore();
  return 1;
}

int PQputCopyEnd(PGconn* conn, const char* errormsg) {
  conn = mux::current(conn);
  if (conn == nullptr || pq::sync_mode() || pq::user_nonblocking(conn) || no_copy_possible(conn)) {
    return ::PQputCopyEnd(conn, errormsg);
  }
  pq::nonblocking_for_send nb(conn);
  if (PQisnonblocking(conn) == 0) return ::PQputCopyEnd(conn, errormsg);  // broken
  const int r = put_copy_end_queued(conn, errormsg);
  if (r == -2) return -1;  // the wait failed: errno says why
  if (r < 0) {
    if (!pq::report_again(conn, nb)) return -1;
    return ::PQputCopyEnd(conn, errormsg);
  }
  nb.restore();
  return 1;
}

int PQgetCopyData(PGconn* conn, char** buffer, int async) {
  conn = mux::current(conn);
  if (conn == nullptr || async != 0 || pq::sync_mode()) return ::PQgetCopyData(conn, buffer, async);
  for (;;) {
    const int n = ::PQgetCopyData(conn, buffer, 1);
    if (n != 0) return n;
    switch (pq::read_input(conn)) {
      case input::read:
        break;
      case input::closed:  // libpq's blocking form reads the end of file and reports it
        return ::PQgetCopyData(conn, buffer, 0);
      case input::broken:
        return -2;
      case input::interrupted:
        return -2;
    }
  }
}

}  // namespace balrog::compat
