// The C face of the libpq compat layer (balrog/pg/compat/libpq_c.h): each function forwards
// to its balrog::compat twin. None of those throws, so nothing crosses the C boundary.
#include "balrog/pg/compat/libpq_c.h"

#include "balrog/pg/compat/libpq.hpp"

extern "C" {

// Multiplexing and the state functions.
void balrog_pg_set_multiplex(int physical_per_conninfo) {
  balrog::compat::set_multiplex(physical_per_conninfo);
}
void balrog_PQfinish(PGconn* conn) { balrog::compat::PQfinish(conn); }
ConnStatusType balrog_PQstatus(const PGconn* conn) { return balrog::compat::PQstatus(conn); }
PGTransactionStatusType balrog_PQtransactionStatus(const PGconn* conn) {
  return balrog::compat::PQtransactionStatus(conn);
}
char* balrog_PQerrorMessage(const PGconn* conn) { return balrog::compat::PQerrorMessage(conn); }
int balrog_PQsocket(const PGconn* conn) { return balrog::compat::PQsocket(conn); }
int balrog_PQbackendPID(const PGconn* conn) { return balrog::compat::PQbackendPID(conn); }
const char* balrog_PQparameterStatus(const PGconn* conn, const char* paramName) {
  return balrog::compat::PQparameterStatus(conn, paramName);
}
int balrog_PQconsumeInput(PGconn* conn) { return balrog::compat::PQconsumeInput(conn); }
int balrog_PQisBusy(PGconn* conn) { return balrog::compat::PQisBusy(conn); }
PGnotify* balrog_PQnotifies(PGconn* conn) { return balrog::compat::PQnotifies(conn); }

// Connections.
PGconn* balrog_PQconnectdb(const char* conninfo) { return balrog::compat::PQconnectdb(conninfo); }
PGconn* balrog_PQconnectdbParams(const char* const* keywords, const char* const* values,
                                 int expand_dbname) {
  return balrog::compat::PQconnectdbParams(keywords, values, expand_dbname);
}
PGconn* balrog_PQsetdbLogin(const char* pghost, const char* pgport, const char* pgoptions,
                            const char* pgtty, const char* dbName, const char* login,
                            const char* pwd) {
  return balrog::compat::PQsetdbLogin(pghost, pgport, pgoptions, pgtty, dbName, login, pwd);
}
void balrog_PQreset(PGconn* conn) { balrog::compat::PQreset(conn); }
PGPing balrog_PQping(const char* conninfo) { return balrog::compat::PQping(conninfo); }
PGPing balrog_PQpingParams(const char* const* keywords, const char* const* values,
                           int expand_dbname) {
  return balrog::compat::PQpingParams(keywords, values, expand_dbname);
}
int balrog_PQcancel(PGcancel* cancel, char* errbuf, int errbufsize) {
  return balrog::compat::PQcancel(cancel, errbuf, errbufsize);
}
int balrog_PQsetClientEncoding(PGconn* conn, const char* encoding) {
  return balrog::compat::PQsetClientEncoding(conn, encoding);
}

// Commands.
PGresult* balrog_PQexec(PGconn* conn, const char* query) {
  return balrog::compat::PQexec(conn, query);
}
PGresult* balrog_PQexecParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                              const char* const* paramValues, const int* paramLengths,
                              const int* paramFormats, int resultFormat) {
  return balrog::compat::PQexecParams(conn, command, nParams, paramTypes, paramValues, paramLengths,
                                      paramFormats, resultFormat);
}
PGresult* balrog_PQprepare(PGconn* conn, const char* stmtName, const char* query, int nParams,
                           const Oid* paramTypes) {
  return balrog::compat::PQprepare(conn, stmtName, query, nParams, paramTypes);
}
PGresult* balrog_PQexecPrepared(PGconn* conn, const char* stmtName, int nParams,
                                const char* const* paramValues, const int* paramLengths,
                                const int* paramFormats, int resultFormat) {
  return balrog::compat::PQexecPrepared(conn, stmtName, nParams, paramValues, paramLengths,
                                        paramFormats, resultFormat);
}
PGresult* balrog_PQdescribePrepared(PGconn* conn, const char* stmt) {
  return balrog::compat::PQdescribePrepared(conn, stmt);
}
PGresult* balrog_PQdescribePortal(PGconn* conn, const char* portal) {
  return balrog::compat::PQdescribePortal(conn, portal);
}
PGresult* balrog_PQgetResult(PGconn* conn) { return balrog::compat::PQgetResult(conn); }

// The asynchronous API's sending calls.
int balrog_PQsendQuery(PGconn* conn, const char* query) {
  return balrog::compat::PQsendQuery(conn, query);
}
int balrog_PQsendQueryParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                             const char* const* paramValues, const int* paramLengths,
                             const int* paramFormats, int resultFormat) {
  return balrog::compat::PQsendQueryParams(conn, command, nParams, paramTypes, paramValues,
                                           paramLengths, paramFormats, resultFormat);
}
int balrog_PQsendPrepare(PGconn* conn, const char* stmtName, const char* query, int nParams,
                         const Oid* paramTypes) {
  return balrog::compat::PQsendPrepare(conn, stmtName, query, nParams, paramTypes);
}
int balrog_PQsendQueryPrepared(PGconn* conn, const char* stmtName, int nParams,
                               const char* const* paramValues, const int* paramLengths,
                               const int* paramFormats, int resultFormat) {
  return balrog::compat::PQsendQueryPrepared(conn, stmtName, nParams, paramValues, paramLengths,
                                             paramFormats, resultFormat);
}
int balrog_PQsendDescribePrepared(PGconn* conn, const char* stmt) {
  return balrog::compat::PQsendDescribePrepared(conn, stmt);
}
int balrog_PQsendDescribePortal(PGconn* conn, const char* portal) {
  return balrog::compat::PQsendDescribePortal(conn, portal);
}
int balrog_PQsendFlushRequest(PGconn* conn) { return balrog::compat::PQsendFlushRequest(conn); }
int balrog_PQpipelineSync(PGconn* conn) { return balrog::compat::PQpipelineSync(conn); }
int balrog_PQflush(PGconn* conn) { return balrog::compat::PQflush(conn); }

// COPY.
int balrog_PQputCopyData(PGconn* conn, const char* buffer, int nbytes) {
  return balrog::compat::PQputCopyData(conn, buffer, nbytes);
}
int balrog_PQputCopyEnd(PGconn* conn, const char* errormsg) {
  return balrog::compat::PQputCopyEnd(conn, errormsg);
}
int balrog_PQgetCopyData(PGconn* conn, char** buffer, int async) {
  return balrog::compat::PQgetCopyData(conn, buffer, async);
}

// The fast-path interface and large objects.
PGresult* balrog_PQfn(PGconn* conn, int fnid, int* result_buf, int* result_len, int result_is_int,
                      const PQArgBlock* args, int nargs) {
  return balrog::compat::PQfn(conn, fnid, result_buf, result_len, result_is_int, args, nargs);
}
int balrog_lo_open(PGconn* conn, Oid lobjId, int mode) {
  return balrog::compat::lo_open(conn, lobjId, mode);
}
int balrog_lo_close(PGconn* conn, int fd) { return balrog::compat::lo_close(conn, fd); }
int balrog_lo_read(PGconn* conn, int fd, char* buf, size_t len) {
  return balrog::compat::lo_read(conn, fd, buf, len);
}
int balrog_lo_write(PGconn* conn, int fd, const char* buf, size_t len) {
  return balrog::compat::lo_write(conn, fd, buf, len);
}
int balrog_lo_lseek(PGconn* conn, int fd, int offset, int whence) {
  return balrog::compat::lo_lseek(conn, fd, offset, whence);
}
pg_int64 balrog_lo_lseek64(PGconn* conn, int fd, pg_int64 offset, int whence) {
  return balrog::compat::lo_lseek64(conn, fd, offset, whence);
}
Oid balrog_lo_creat(PGconn* conn, int mode) { return balrog::compat::lo_creat(conn, mode); }
Oid balrog_lo_create(PGconn* conn, Oid lobjId) { return balrog::compat::lo_create(conn, lobjId); }
int balrog_lo_tell(PGconn* conn, int fd) { return balrog::compat::lo_tell(conn, fd); }
pg_int64 balrog_lo_tell64(PGconn* conn, int fd) { return balrog::compat::lo_tell64(conn, fd); }
int balrog_lo_truncate(PGconn* conn, int fd, size_t len) {
  return balrog::compat::lo_truncate(conn, fd, len);
}
int balrog_lo_truncate64(PGconn* conn, int fd, pg_int64 len) {
  return balrog::compat::lo_truncate64(conn, fd, len);
}
int balrog_lo_unlink(PGconn* conn, Oid lobjId) { return balrog::compat::lo_unlink(conn, lobjId); }
Oid balrog_lo_import(PGconn* conn, const char* filename) {
  return balrog::compat::lo_import(conn, filename);
}
Oid balrog_lo_import_with_oid(PGconn* conn, const char* filename, Oid lobjId) {
  return balrog::compat::lo_import_with_oid(conn, filename, lobjId);
}
int balrog_lo_export(PGconn* conn, Oid lobjId, const char* filename) {
  return balrog::compat::lo_export(conn, lobjId, filename);
}

}  // extern "C"
