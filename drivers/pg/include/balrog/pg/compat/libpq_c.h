/* balrog/pg/compat/libpq_c.h — the libpq compat layer's C face.
 *
 * The functions of balrog/pg/compat/libpq.hpp with C linkage, each named balrog_<libpq name>
 * (balrog_PQexec, balrog_lo_write...), with libpq's exact signatures and semantics. It is what
 * balrog-gen rewrites calls in C files (.c) to: PQexec(conn, sql) becomes
 * balrog_PQexec(conn, sql), and this header is included. On a fiber each call suspends the
 * fiber instead of the thread; on a plain thread without a balrog runtime it is libpq's own;
 * in coroutine code a call that would wait fails with errno EDEADLK. docs/pg-compat.md is the
 * manual: everything there holds here (blocking mode kept, cancellation and deadlines reported
 * as errno ECANCELED / ETIMEDOUT, never an exception — none crosses this interface).
 *
 * The program links balrog::pg (a C++ library: link with a C++ driver, or add -lstdc++).
 * Usable from C99 and later, and from C++.
 */
#ifndef BALROG_PG_COMPAT_LIBPQ_C_H
#define BALROG_PG_COMPAT_LIBPQ_C_H

#include <libpq-fe.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Connections. */
PGconn* balrog_PQconnectdb(const char* conninfo);
PGconn* balrog_PQconnectdbParams(const char* const* keywords, const char* const* values,
                                 int expand_dbname);
PGconn* balrog_PQsetdbLogin(const char* pghost, const char* pgport, const char* pgoptions,
                            const char* pgtty, const char* dbName, const char* login,
                            const char* pwd);
void balrog_PQreset(PGconn* conn);
PGPing balrog_PQping(const char* conninfo);
PGPing balrog_PQpingParams(const char* const* keywords, const char* const* values,
                           int expand_dbname);
int balrog_PQcancel(PGcancel* cancel, char* errbuf, int errbufsize);
int balrog_PQsetClientEncoding(PGconn* conn, const char* encoding);

/* Multiplexing (docs/pg-compat.md, "Many sessions, few server connections") and the state
 * functions that know virtual connections (libpq's own on a real connection). */
void balrog_pg_set_multiplex(int physical_per_conninfo);
void balrog_PQfinish(PGconn* conn);
ConnStatusType balrog_PQstatus(const PGconn* conn);
PGTransactionStatusType balrog_PQtransactionStatus(const PGconn* conn);
char* balrog_PQerrorMessage(const PGconn* conn);
int balrog_PQsocket(const PGconn* conn);
int balrog_PQbackendPID(const PGconn* conn);
const char* balrog_PQparameterStatus(const PGconn* conn, const char* paramName);
int balrog_PQconsumeInput(PGconn* conn);
int balrog_PQisBusy(PGconn* conn);
PGnotify* balrog_PQnotifies(PGconn* conn);

/* Commands. */
PGresult* balrog_PQexec(PGconn* conn, const char* query);
PGresult* balrog_PQexecParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                              const char* const* paramValues, const int* paramLengths,
                              const int* paramFormats, int resultFormat);
PGresult* balrog_PQprepare(PGconn* conn, const char* stmtName, const char* query, int nParams,
                           const Oid* paramTypes);
PGresult* balrog_PQexecPrepared(PGconn* conn, const char* stmtName, int nParams,
                                const char* const* paramValues, const int* paramLengths,
                                const int* paramFormats, int resultFormat);
PGresult* balrog_PQdescribePrepared(PGconn* conn, const char* stmt);
PGresult* balrog_PQdescribePortal(PGconn* conn, const char* portal);
PGresult* balrog_PQgetResult(PGconn* conn);

/* The asynchronous API's sending calls. */
int balrog_PQsendQuery(PGconn* conn, const char* query);
int balrog_PQsendQueryParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                             const char* const* paramValues, const int* paramLengths,
                             const int* paramFormats, int resultFormat);
int balrog_PQsendPrepare(PGconn* conn, const char* stmtName, const char* query, int nParams,
                         const Oid* paramTypes);
int balrog_PQsendQueryPrepared(PGconn* conn, const char* stmtName, int nParams,
                               const char* const* paramValues, const int* paramLengths,
                               const int* paramFormats, int resultFormat);
int balrog_PQsendDescribePrepared(PGconn* conn, const char* stmt);
int balrog_PQsendDescribePortal(PGconn* conn, const char* portal);
int balrog_PQsendFlushRequest(PGconn* conn);
int balrog_PQpipelineSync(PGconn* conn);
int balrog_PQflush(PGconn* conn);

/* COPY. */
int balrog_PQputCopyData(PGconn* conn, const char* buffer, int nbytes);
int balrog_PQputCopyEnd(PGconn* conn, const char* errormsg);
int balrog_PQgetCopyData(PGconn* conn, char** buffer, int async);

/* The fast-path interface and large objects. */
PGresult* balrog_PQfn(PGconn* conn, int fnid, int* result_buf, int* result_len, int result_is_int,
                      const PQArgBlock* args, int nargs);
int balrog_lo_open(PGconn* conn, Oid lobjId, int mode);
int balrog_lo_close(PGconn* conn, int fd);
int balrog_lo_read(PGconn* conn, int fd, char* buf, size_t len);
int balrog_lo_write(PGconn* conn, int fd, const char* buf, size_t len);
int balrog_lo_lseek(PGconn* conn, int fd, int offset, int whence);
pg_int64 balrog_lo_lseek64(PGconn* conn, int fd, pg_int64 offset, int whence);
Oid balrog_lo_creat(PGconn* conn, int mode);
Oid balrog_lo_create(PGconn* conn, Oid lobjId);
int balrog_lo_tell(PGconn* conn, int fd);
pg_int64 balrog_lo_tell64(PGconn* conn, int fd);
int balrog_lo_truncate(PGconn* conn, int fd, size_t len);
int balrog_lo_truncate64(PGconn* conn, int fd, pg_int64 len);
int balrog_lo_unlink(PGconn* conn, Oid lobjId);
Oid balrog_lo_import(PGconn* conn, const char* filename);
Oid balrog_lo_import_with_oid(PGconn* conn, const char* filename, Oid lobjId);
int balrog_lo_export(PGconn* conn, Oid lobjId, const char* filename);

/* libpq's PQsetdb macro (PQsetdbLogin without login and password). */
#define balrog_PQsetdb(M_PGHOST, M_PGPORT, M_PGOPT, M_PGTTY, M_DBNAME) \
  balrog_PQsetdbLogin(M_PGHOST, M_PGPORT, M_PGOPT, M_PGTTY, M_DBNAME, NULL, NULL)

#ifdef __cplusplus
}
#endif

#endif /* BALROG_PG_COMPAT_LIBPQ_C_H */
