// balrog/pg/compat/libpq.hpp — libpq's blocking calls, with libpq's own signatures and
// semantics, made safe to call on a fiber. Part of balrog::pg (link balrog::pg).
//
// balrog-gen's `libpq` API map rewrites calls of PQexec, PQconnectdb, PQgetResult... in
// existing synchronous code to these functions. Each keeps libpq's contract: the same return
// values (a PGresult* or NULL, a PGconn* whose PQstatus says how the connection went, 1/0/-1),
// PQerrorMessage and PQresultErrorMessage texts, PQstatus, result order, COPY states. They
// differ only in what waits:
//
//  - Plain thread (no balrog scheduler on this thread: sync mode): the libpq function itself is
//    called. Same behaviour as without balrog, bit for bit.
//  - On a fiber: the same work is done with libpq's non-blocking API (PQconnectStart*/
//    PQconnectPoll, PQsendQuery*, PQflush, PQconsumeInput, PQisBusy) and the fiber waits on the
//    shard's reactor for the connection's socket; other fibers keep running. Results are
//    still produced by libpq's own PQgetResult, called only once it can no longer block, so
//    results, statuses and error texts are libpq's. Calls that cannot be made non-blocking run
//    libpq's blocking function on balrog's offload pool while the fiber waits: PQping,
//    PQpingParams, PQcancel, and PQconnectdb*/PQsetdbLogin/PQreset when a connect_timeout is
//    configured (so libpq's own per-host timeout logic and messages apply). Connection starts
//    (PQconnectStart*, PQresetStart: they may resolve host names and read ~/.pgpass or service
//    files) also run on the offload pool.
//  - Inside C++20 coroutine code (a balrog::task, a chain driven by balrog::await): a call
//    that would have to wait fails with errno EDEADLK (NULL, -1, or PQPING_NO_ATTEMPT) instead
//    of stalling the shard. Use pg::connection's co_await API there.
//
// A user connection in libpq's blocking mode (the default) stays in blocking mode: on a fiber
// the calls switch it to non-blocking mode only while they send, and back. A connection the
// application put in non-blocking mode (PQsetnonblocking) is left alone, and the functions
// that never block in that mode (PQputCopyData, PQputCopyEnd) are libpq's own there.
//
// On a fiber, cancellation (balrog::fiber::cancel) and an enclosing deadline_scope end a wait
// the C way, never with an exception: the call returns NULL (PGresult*/PGconn*), -1 or -2 (COPY
// calls; -2 for PQgetCopyData), PQPING_NO_ATTEMPT, or 0 (PQcancel, with the reason in errbuf),
// with errno ECANCELED or ETIMEDOUT. PQerrorMessage is not changed by such an interruption. A
// query interrupted this way keeps running on the server; the next PQexec-like call on the
// connection first discards its results, as libpq does with unread results. A connection
// attempt interrupted this way is closed (NULL is returned; PQstatus(NULL) is CONNECTION_BAD).
//
// None of these functions throws.
//
// The LISTEN/NOTIFY pattern needs nothing extra: the application's select()/poll() on
// PQsocket(conn) is rewritten by the posix-net map to balrog::compat::select/poll (which wait
// on the reactor), and PQconsumeInput/PQnotifies never block.
//
// C programs: balrog/pg/compat/libpq_c.h declares the same functions with C linkage, named
// balrog_<libpq name> (balrog_PQexec...), for balrog-gen's rewrite of .c files.
//
// Differences from libpq, all on a fiber, documented in docs/pg-compat.md:
//  - In PQconnectPoll, libpq resolves the name of a second or later host of a multi-host
//    conninfo when it gets to it: that lookup blocks the thread (the first host's is
//    offloaded).
//  - PQputCopyData sends each call's data at once (blocking libpq gathers 8 kB first): batch
//    small rows for throughput.
//  - "COPY terminated by new PQexec" (sent when a PQexec-like call ends a COPY IN) is not
//    translated by libpq's message catalogue.
#pragma once

#include <libpq-fe.h>

#include <cstddef>

namespace balrog::compat {

// Multiplexing (docs/pg-compat.md, "Many sessions, few server connections"): from now on,
// PQconnectdb on a fiber returns a virtual connection over at most `physical_per_conninfo`
// server connections per conninfo string and thread; 0 turns it off for new connections.
// Without a call (or after set_multiplex(-1)), the environment variable BALROG_PG_MULTIPLEX (a
// number) decides, read at each PQconnectdb; unset: off.
// A virtual connection must be used through balrog::compat's functions only, including the
// state functions below, which are libpq's own on a real connection.
void set_multiplex(int physical_per_conninfo) noexcept;

// libpq's functions on a connection's state, aware of virtual connections (on a real
// connection: libpq's own). PQsocket of a virtual connection not pinned to a server connection
// is the socket of a shared one; PQbackendPID is 0 then.
void PQfinish(PGconn* conn);
ConnStatusType PQstatus(const PGconn* conn);
PGTransactionStatusType PQtransactionStatus(const PGconn* conn);
char* PQerrorMessage(const PGconn* conn);
int PQsocket(const PGconn* conn);
int PQbackendPID(const PGconn* conn);
const char* PQparameterStatus(const PGconn* conn, const char* paramName);
int PQconsumeInput(PGconn* conn);
int PQisBusy(PGconn* conn);
PGnotify* PQnotifies(PGconn* conn);

// Connections.
PGconn* PQconnectdb(const char* conninfo);
PGconn* PQconnectdbParams(const char* const* keywords, const char* const* values,
                          int expand_dbname);
PGconn* PQsetdbLogin(const char* pghost, const char* pgport, const char* pgoptions,
                     const char* pgtty, const char* dbName, const char* login, const char* pwd);
void PQreset(PGconn* conn);
PGPing PQping(const char* conninfo);
PGPing PQpingParams(const char* const* keywords, const char* const* values, int expand_dbname);
int PQcancel(PGcancel* cancel, char* errbuf, int errbufsize);

// Commands.
PGresult* PQexec(PGconn* conn, const char* query);
PGresult* PQexecParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                       const char* const* paramValues, const int* paramLengths,
                       const int* paramFormats, int resultFormat);
PGresult* PQprepare(PGconn* conn, const char* stmtName, const char* query, int nParams,
                    const Oid* paramTypes);
PGresult* PQexecPrepared(PGconn* conn, const char* stmtName, int nParams,
                         const char* const* paramValues, const int* paramLengths,
                         const int* paramFormats, int resultFormat);
PGresult* PQdescribePrepared(PGconn* conn, const char* stmt);
PGresult* PQdescribePortal(PGconn* conn, const char* portal);
// The asynchronous API's one blocking call (after PQsendQuery* & co.).
PGresult* PQgetResult(PGconn* conn);

// COPY. PQgetCopyData with async != 0 is libpq's own (it never waits).
int PQputCopyData(PGconn* conn, const char* buffer, int nbytes);
int PQputCopyEnd(PGconn* conn, const char* errormsg);
int PQgetCopyData(PGconn* conn, char** buffer, int async);

// The asynchronous API's sending calls. On a connection in blocking mode (the default) libpq's
// own block the thread until the message is sent, which takes long with a payload larger than
// the socket's buffer or a server still busy with an earlier statement. Here the fiber waits
// instead; the message is sent when they return, as with libpq in blocking mode. A connection
// in non-blocking mode (PQsetnonblocking) gets libpq's own calls.
int PQsendQuery(PGconn* conn, const char* query);
int PQsendQueryParams(PGconn* conn, const char* command, int nParams, const Oid* paramTypes,
                      const char* const* paramValues, const int* paramLengths,
                      const int* paramFormats, int resultFormat);
int PQsendPrepare(PGconn* conn, const char* stmtName, const char* query, int nParams,
                  const Oid* paramTypes);
int PQsendQueryPrepared(PGconn* conn, const char* stmtName, int nParams,
                        const char* const* paramValues, const int* paramLengths,
                        const int* paramFormats, int resultFormat);
int PQsendDescribePrepared(PGconn* conn, const char* stmt);
int PQsendDescribePortal(PGconn* conn, const char* portal);
int PQsendFlushRequest(PGconn* conn);
int PQpipelineSync(PGconn* conn);
int PQflush(PGconn* conn);

// Runs "set client_encoding to '...'" through PQexec, as libpq does.
int PQsetClientEncoding(PGconn* conn, const char* encoding);

// The fast-path interface and large objects: libpq's own functions on the offload pool while
// the fiber waits (they have no non-blocking form; lo_import/lo_export also use a local file).
// They run to their end even when the fiber is cancelled or its deadline passes: they use the
// caller's PGconn.
PGresult* PQfn(PGconn* conn, int fnid, int* result_buf, int* result_len, int result_is_int,
               const PQArgBlock* args, int nargs);
int lo_open(PGconn* conn, Oid lobjId, int mode);
int lo_close(PGconn* conn, int fd);
int lo_read(PGconn* conn, int fd, char* buf, size_t len);
int lo_write(PGconn* conn, int fd, const char* buf, size_t len);
int lo_lseek(PGconn* conn, int fd, int offset, int whence);
pg_int64 lo_lseek64(PGconn* conn, int fd, pg_int64 offset, int whence);
Oid lo_creat(PGconn* conn, int mode);
Oid lo_create(PGconn* conn, Oid lobjId);
int lo_tell(PGconn* conn, int fd);
pg_int64 lo_tell64(PGconn* conn, int fd);
int lo_truncate(PGconn* conn, int fd, size_t len);
int lo_truncate64(PGconn* conn, int fd, pg_int64 len);
int lo_unlink(PGconn* conn, Oid lobjId);
Oid lo_import(PGconn* conn, const char* filename);
Oid lo_import_with_oid(PGconn* conn, const char* filename, Oid lobjId);
int lo_export(PGconn* conn, Oid lobjId, const char* filename);

}  // namespace balrog::compat
