// The asynchronous API's sending calls of balrog/pg/compat/libpq.hpp: PQsendQuery & co.,
// PQsendFlushRequest, PQpipelineSync and PQflush.
//
// On a connection in blocking mode (libpq's default) these calls block the thread until all
// their output is sent (libpq's pqFlush → pqSendSome → pqWait): with a payload larger than the
// socket's buffer (a big bytea, a long multi-row INSERT), or behind a server busy with an
// earlier statement of the pipeline. On a fiber, each call switches the connection to
// non-blocking mode for the send, lets libpq queue (and start sending) the message, then
// flushes the rest while the fiber waits on the reactor for the socket — readable or writable,
// reading what the server sends meanwhile, as pqSendSome does — and switches back. The
// message is therefore sent when the call returns, as with libpq in blocking mode (in pipeline
// mode libpq would keep a few kilobytes queued until PQpipelineSync or PQflush: here they go at
// once, which changes when they leave, not what the server sees). A connection the application
// put in non-blocking mode is left alone: libpq's own calls never block there.
#include <libpq-fe.h>

#include "balrog/pg/compat/libpq.hpp"
#include "compat/libpq_mux.hpp"
#include "compat/libpq_wait.hpp"

namespace balrog::compat {

namespace {

// `send` is libpq's call; 1 when it queued the message and all of it was sent.
template <class Send>
int send_like(PGconn* conn, Send send) {
  if (conn == nullptr || pq::sync_mode() || pq::user_nonblocking(conn)) return send();
  pq::nonblocking_for_send nb(conn);
  if (PQisnonblocking(conn) == 0) return send();  // could not switch: broken, libpq reports it
  if (send() != 1) {
    // Refused before any I/O (an argument, the connection's state): libpq says why again in
    // blocking mode, with its own message.
    if (!pq::report_again(conn, nb)) return 0;
    return send();
  }
  if (!pq::flush_all(conn)) return 0;  // interrupted: errno says why; the rest stays queued
  nb.restore();
  return 1;
}

}  // namespace

int PQsendQuery(PGconn* conn, const char* query) {
  conn = mux::raw(conn);
  return send_like(conn, [&] { return ::PQsendQuery(conn, query); });
}

int PQsendQueryParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                      const char* const* paramValues, const int* paramLengths,
                      const int* paramFormats, int resultFormat) {
  conn = mux::raw(conn);
  return send_like(conn, [&] {
    return ::PQsendQueryParams(conn, command, nParams, paramTypes, paramValues, paramLengths,
                               paramFormats, resultFormat);
  });
}

int PQsendPrepare(PGconn* conn, const char* stmtName, const char* query, int nParams,
                  const Oid* paramTypes) {
  conn = mux::raw(conn);
  return send_like(conn,
                   [&] { return ::PQsendPrepare(conn, stmtName, query, nParams, paramTypes); });
}

int PQsendQueryPrepared(PGconn* conn, const char* stmtName, int nParams,
                        const char* const* paramValues, const int* paramLengths,
                        const int* paramFormats, int resultFormat) {
  conn = mux::raw(conn);
  return send_like(conn, [&] {
    return ::PQsendQueryPrepared(conn, stmtName, nParams, paramValues, paramLengths, paramFormats,
                                 resultFormat);
  });
}

int PQsendDescribePrepared(PGconn* conn, const char* stmt) {
  conn = mux::raw(conn);
  return send_like(conn, [&] { return ::PQsendDescribePrepared(conn, stmt); });
}

int PQsendDescribePortal(PGconn* conn, const char* portal) {
  conn = mux::raw(conn);
  return send_like(conn, [&] { return ::PQsendDescribePortal(conn, portal); });
}

int PQsendFlushRequest(PGconn* conn) {
  conn = mux::raw(conn);
  return send_like(conn, [&] { return ::PQsendFlushRequest(conn); });
}

int PQpipelineSync(PGconn* conn) {
  conn = mux::raw(conn);
  return send_like(conn, [&] { return ::PQpipelineSync(conn); });
}

int PQflush(PGconn* conn) {
  conn = mux::raw(conn);
  // In blocking mode libpq's PQflush returns 0 once everything is sent, or -1.
  if (conn == nullptr || pq::sync_mode() || pq::user_nonblocking(conn)) return ::PQflush(conn);
  pq::nonblocking_for_send nb(conn);
  if (PQisnonblocking(conn) == 0) return ::PQflush(conn);
  if (!pq::flush_all(conn)) return -1;  // interrupted: errno says why
  const int r = ::PQflush(conn);        // 0, or -1 when sending failed (PQerrorMessage)
  nb.restore();
  return r < 0 ? -1 : 0;
}

}  // namespace balrog::compat
