// Large objects (lo_*), PQfn and PQsetClientEncoding of balrog/pg/compat/libpq.hpp.
//
// libpq implements the large-object calls with the fast-path function call (PQfn), which has
// no non-blocking form: it sends a FunctionCall message and waits in pqWait for the answer.
// lo_import and lo_export also read or write a local file. On a fiber these run libpq's own
// function on balrog's offload pool while the fiber waits, so results, return values and
// PQerrorMessage texts are libpq's. They work on the caller's PGconn, which the fiber does not
// touch meanwhile; the call runs to its end even when the fiber is cancelled or its deadline
// passes (as PQreset and PQcancel do), because the PGconn must not be used by two threads at
// once and the caller may use it as soon as the call returns. In coroutine code they fail with
// errno EDEADLK (-1, or InvalidOid / NULL for the calls returning those).
//
// PQsetClientEncoding runs "set client_encoding to '...'" with PQexec inside libpq: here the
// same statement goes through balrog::compat::PQexec (the value "auto", resolved from the
// locale by libpq, runs libpq's own function on the offload pool).
#include <libpq-fe.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "balrog/pg/compat/libpq.hpp"
#include "compat/libpq_mux.hpp"
#include "compat/libpq_wait.hpp"

namespace balrog::compat {

namespace {

// libpq's `fn()` on the offload pool, to its end; `failed` when it could not run there.
template <class F, class R>
R offloaded(F fn, R failed) noexcept {
  if (pq::sync_mode()) return fn();
  auto done = pq::offload_call(fn, true);
  return done ? *done : failed;
}

}  // namespace

PGresult* PQfn(PGconn* conn, int fnid, int* result_buf, int* result_len, int result_is_int,
               const PQArgBlock* args, int nargs) {
  conn = mux::raw(conn);
  return offloaded(
      [=] { return ::PQfn(conn, fnid, result_buf, result_len, result_is_int, args, nargs); },
      static_cast<PGresult*>(nullptr));
}

int lo_open(PGconn* conn, Oid lobjId, int mode) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_open(conn, lobjId, mode); }, -1);
}
int lo_close(PGconn* conn, int fd) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_close(conn, fd); }, -1);
}
int lo_read(PGconn* conn, int fd, char* buf, size_t len) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_read(conn, fd, buf, len); }, -1);
}
int lo_write(PGconn* conn, int fd, const char* buf, size_t len) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_write(conn, fd, buf, len); }, -1);
}
int lo_lseek(PGconn* conn, int fd, int offset, int whence) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_lseek(conn, fd, offset, whence); }, -1);
}
pg_int64 lo_lseek64(PGconn* conn, int fd, pg_int64 offset, int whence) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_lseek64(conn, fd, offset, whence); }, pg_int64{-1});
}
Oid lo_creat(PGconn* conn, int mode) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_creat(conn, mode); }, Oid{InvalidOid});
}
Oid lo_create(PGconn* conn, Oid lobjId) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_create(conn, lobjId); }, Oid{InvalidOid});
}
int lo_tell(PGconn* conn, int fd) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_tell(conn, fd); }, -1);
}
pg_int64 lo_tell64(PGconn* conn, int fd) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_tell64(conn, fd); }, pg_int64{-1});
}
int lo_truncate(PGconn* conn, int fd, size_t len) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_truncate(conn, fd, len); }, -1);
}
int lo_truncate64(PGconn* conn, int fd, pg_int64 len) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_truncate64(conn, fd, len); }, -1);
}
int lo_unlink(PGconn* conn, Oid lobjId) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_unlink(conn, lobjId); }, -1);
}
Oid lo_import(PGconn* conn, const char* filename) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_import(conn, filename); }, Oid{InvalidOid});
}
Oid lo_import_with_oid(PGconn* conn, const char* filename, Oid lobjId) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_import_with_oid(conn, filename, lobjId); }, Oid{InvalidOid});
}
int lo_export(PGconn* conn, Oid lobjId, const char* filename) {
  conn = mux::raw(conn);
  return offloaded([=] { return ::lo_export(conn, lobjId, filename); }, -1);
}

int PQsetClientEncoding(PGconn* conn, const char* encoding) {
  // fe-connect.c's PQsetClientEncoding, with the statement sent through compat::PQexec.
  if (conn == nullptr || ::PQstatus(conn) != CONNECTION_OK || encoding == nullptr) return -1;
  if (pq::sync_mode() || std::strcmp(encoding, "auto") == 0) {
    return offloaded([=] { return ::PQsetClientEncoding(conn, encoding); }, -1);
  }
  static constexpr char query[] = "set client_encoding to '%s'";
  char qbuf[128];
  if (sizeof qbuf < sizeof query + std::strlen(encoding)) return -1;
  std::snprintf(qbuf, sizeof qbuf, query, encoding);
  PGresult* res = compat::PQexec(conn, qbuf);
  if (res == nullptr) return -1;
  // The server reports the new value (ParameterStatus); libpq records it then.
  const int status = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
  PQclear(res);
  return status;
}

}  // namespace balrog::compat
