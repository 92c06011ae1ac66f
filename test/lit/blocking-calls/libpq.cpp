// The libpq map: every blocking libpq call becomes its balrog::compat twin (same arguments),
// with the include; the LISTEN/NOTIFY loop's select() comes from the posix-net map. The
// rewritten file must still compile against libpq-fe.h and balrog's header.
// RUN: printf 'maps: [libpq, posix-net]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags -I/usr/include/postgresql
// RUN: clang++-16 -fsyntax-only %balrog_std_flags -I/usr/include/postgresql -I%S/../../../drivers/pg/include %t.cpp

#include <libpq-fe.h>
#include <libpq/libpq-fs.h>
#include <stdio.h>
#include <sys/select.h>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <balrog/pg/compat/libpq.hpp>
// CHECK-FIXES-NEXT: #include <libpq-fe.h>

PGconn* connect_all_ways(const char* const* keys, const char* const* values) {
  PGconn* a = PQconnectdb("dbname=app");
  // CHECK-FIXES: PGconn* a = balrog::compat::PQconnectdb("dbname=app");
  PGconn* b = PQconnectdbParams(keys, values, 0);
  // CHECK-FIXES: PGconn* b = balrog::compat::PQconnectdbParams(keys, values, 0);
  PGconn* c = ::PQsetdbLogin("localhost", "5432", nullptr, nullptr, "app", "me", nullptr);
  // CHECK-FIXES: PGconn* c = balrog::compat::PQsetdbLogin("localhost", "5432", nullptr, nullptr, "app", "me", nullptr);
  PQreset(c);
  // CHECK-FIXES: balrog::compat::PQreset(c);
  if (PQping("dbname=app") != PQPING_OK || PQpingParams(keys, values, 0) != PQPING_OK) return a;
  // CHECK-FIXES: if (balrog::compat::PQping("dbname=app") != PQPING_OK || balrog::compat::PQpingParams(keys, values, 0) != PQPING_OK) return a;
  PQfinish(b);
  // CHECK-FIXES: balrog::compat::PQfinish(b);
  PQfinish(c);
  return a;
}

int queries(PGconn* conn) {
  PGresult* r = PQexec(conn, "select 1");
  // CHECK-FIXES: PGresult* r = balrog::compat::PQexec(conn, "select 1");
  PQclear(r);
  const char* params[] = {"42"};
  r = PQexecParams(conn, "select $1::int", 1, nullptr, params, nullptr, nullptr, 0);
  // CHECK-FIXES: r = balrog::compat::PQexecParams(conn, "select $1::int", 1, nullptr, params, nullptr, nullptr, 0);
  PQclear(r);
  PQclear(PQprepare(conn, "s", "select $1::int", 1, nullptr));
  // CHECK-FIXES: PQclear(balrog::compat::PQprepare(conn, "s", "select $1::int", 1, nullptr));
  PQclear(PQexecPrepared(conn, "s", 1, params, nullptr, nullptr, 0));
  // CHECK-FIXES: PQclear(balrog::compat::PQexecPrepared(conn, "s", 1, params, nullptr, nullptr, 0));
  PQclear(PQdescribePrepared(conn, "s"));
  // CHECK-FIXES: PQclear(balrog::compat::PQdescribePrepared(conn, "s"));
  PQclear(PQdescribePortal(conn, "cur"));
  // CHECK-FIXES: PQclear(balrog::compat::PQdescribePortal(conn, "cur"));
  // The asynchronous API: its sending calls wait too, on a connection in blocking mode.
  PQsendQuery(conn, "select 1; select 2");
  // CHECK-FIXES: balrog::compat::PQsendQuery(conn, "select 1; select 2");
  int n = 0;
  while (PGresult* each = PQgetResult(conn)) {
    // CHECK-FIXES: while (PGresult* each = balrog::compat::PQgetResult(conn)) {
    PQclear(each);
    ++n;
  }
  return n;
}

int copy(PGconn* conn) {
  PQclear(PQexec(conn, "copy t from stdin"));
  // CHECK-FIXES: PQclear(balrog::compat::PQexec(conn, "copy t from stdin"));
  if (PQputCopyData(conn, "1\n", 2) != 1) return -1;
  // CHECK-FIXES: if (balrog::compat::PQputCopyData(conn, "1\n", 2) != 1) return -1;
  if (PQputCopyEnd(conn, nullptr) != 1) return -1;
  // CHECK-FIXES: if (balrog::compat::PQputCopyEnd(conn, nullptr) != 1) return -1;
  PQclear(PQgetResult(conn));
  // CHECK-FIXES: PQclear(balrog::compat::PQgetResult(conn));
  char* row = nullptr;
  int rows = 0;
  while (PQgetCopyData(conn, &row, 0) > 0) {
    // CHECK-FIXES: while (balrog::compat::PQgetCopyData(conn, &row, 0) > 0) {
    PQfreemem(row);
    ++rows;
  }
  return rows;
}

int pipeline(PGconn* conn, const char* const* params) {
  PQenterPipelineMode(conn);
  // CHECK-FIXES: PQenterPipelineMode(conn);
  PQsendQueryParams(conn, "select $1::int", 1, nullptr, params, nullptr, nullptr, 0);
  // CHECK-FIXES: balrog::compat::PQsendQueryParams(conn, "select $1::int", 1, nullptr, params, nullptr, nullptr, 0);
  PQsendPrepare(conn, "p", "select $1::int", 1, nullptr);
  // CHECK-FIXES: balrog::compat::PQsendPrepare(conn, "p", "select $1::int", 1, nullptr);
  PQsendQueryPrepared(conn, "p", 1, params, nullptr, nullptr, 0);
  // CHECK-FIXES: balrog::compat::PQsendQueryPrepared(conn, "p", 1, params, nullptr, nullptr, 0);
  PQsendDescribePrepared(conn, "p");
  // CHECK-FIXES: balrog::compat::PQsendDescribePrepared(conn, "p");
  PQsendDescribePortal(conn, "");
  // CHECK-FIXES: balrog::compat::PQsendDescribePortal(conn, "");
  PQsendFlushRequest(conn);
  // CHECK-FIXES: balrog::compat::PQsendFlushRequest(conn);
  PQflush(conn);
  // CHECK-FIXES: balrog::compat::PQflush(conn);
  return PQpipelineSync(conn);
  // CHECK-FIXES: return balrog::compat::PQpipelineSync(conn);
}

int large_objects(PGconn* conn, char* buf) {
  PQsetClientEncoding(conn, "UTF8");
  // CHECK-FIXES: balrog::compat::PQsetClientEncoding(conn, "UTF8");
  Oid lo = lo_creat(conn, INV_READ | INV_WRITE);
  // CHECK-FIXES: Oid lo = balrog::compat::lo_creat(conn, INV_READ | INV_WRITE);
  lo = lo_create(conn, lo);
  // CHECK-FIXES: lo = balrog::compat::lo_create(conn, lo);
  const int fd = lo_open(conn, lo, INV_READ | INV_WRITE);
  // CHECK-FIXES: const int fd = balrog::compat::lo_open(conn, lo, INV_READ | INV_WRITE);
  lo_write(conn, fd, "abc", 3);
  // CHECK-FIXES: balrog::compat::lo_write(conn, fd, "abc", 3);
  lo_lseek(conn, fd, 0, SEEK_SET);
  // CHECK-FIXES: balrog::compat::lo_lseek(conn, fd, 0, SEEK_SET);
  lo_lseek64(conn, fd, 0, SEEK_SET);
  // CHECK-FIXES: balrog::compat::lo_lseek64(conn, fd, 0, SEEK_SET);
  int n = lo_read(conn, fd, buf, 3);
  // CHECK-FIXES: int n = balrog::compat::lo_read(conn, fd, buf, 3);
  n += lo_tell(conn, fd) + static_cast<int>(lo_tell64(conn, fd));
  // CHECK-FIXES: n += balrog::compat::lo_tell(conn, fd) + static_cast<int>(balrog::compat::lo_tell64(conn, fd));
  lo_truncate(conn, fd, 1);
  // CHECK-FIXES: balrog::compat::lo_truncate(conn, fd, 1);
  lo_truncate64(conn, fd, 1);
  // CHECK-FIXES: balrog::compat::lo_truncate64(conn, fd, 1);
  lo_close(conn, fd);
  // CHECK-FIXES: balrog::compat::lo_close(conn, fd);
  lo_export(conn, lo, "/tmp/x");
  // CHECK-FIXES: balrog::compat::lo_export(conn, lo, "/tmp/x");
  lo_unlink(conn, lo);
  // CHECK-FIXES: balrog::compat::lo_unlink(conn, lo);
  lo = lo_import(conn, "/tmp/x");
  // CHECK-FIXES: lo = balrog::compat::lo_import(conn, "/tmp/x");
  lo = lo_import_with_oid(conn, "/tmp/x", lo);
  // CHECK-FIXES: lo = balrog::compat::lo_import_with_oid(conn, "/tmp/x", lo);
  int result = 0;
  int length = 0;
  PQArgBlock arg{};
  PQclear(PQfn(conn, 1, &result, &length, 1, &arg, 1));
  // CHECK-FIXES: PQclear(balrog::compat::PQfn(conn, 1, &result, &length, 1, &arg, 1));
  return n;
}

bool cancel(PGconn* conn) {
  char errbuf[256];
  PGcancel* c = PQgetCancel(conn);
  const bool ok = PQcancel(c, errbuf, sizeof errbuf) == 1;
  // CHECK-FIXES: const bool ok = balrog::compat::PQcancel(c, errbuf, sizeof errbuf) == 1;
  PQfreeCancel(c);
  return ok;
}

// LISTEN/NOTIFY: select() on the socket (posix-net), then PQconsumeInput and PQnotifies, which
// never block but are mapped (blocks: false) like every connection-state function, so that the
// compat layer's multiplexed (virtual) connections answer them.
PGnotify* wait_notification(PGconn* conn) {
  const int sock = PQsocket(conn);
  // CHECK-FIXES: const int sock = balrog::compat::PQsocket(conn);
  fd_set fds;
  FD_ZERO(&fds);
  FD_SET(sock, &fds);
  if (select(sock + 1, &fds, nullptr, nullptr, nullptr) < 0) return nullptr;
  // CHECK-FIXES: if (balrog::compat::select(sock + 1, &fds, nullptr, nullptr, nullptr) < 0) return nullptr;
  PQconsumeInput(conn);
  // CHECK-FIXES: balrog::compat::PQconsumeInput(conn);
  return PQnotifies(conn);
  // CHECK-FIXES: return balrog::compat::PQnotifies(conn);
}

// PQsetdb is a macro of libpq-fe.h whose body calls PQsetdbLogin: the map's macro entry
// rewrites the use to the twin of what it expands to (more in libpq-macros.cpp).
PGconn* old_style() { return PQsetdb("localhost", "5432", nullptr, nullptr, "app"); }
// CHECK-FIXES: PGconn* old_style() { return balrog::compat::PQsetdbLogin("localhost", "5432", nullptr, nullptr, "app", NULL, NULL); }

// A pointer to PQexec: calls through it are not rewritten, reported.
using exec_fn = PGresult* (*)(PGconn*, const char*);
exec_fn pick() { return &PQexec; }
// CHECK-MESSAGES: :[[@LINE-1]]:26: warning: 'PQexec' is taken by address; calls through the pointer block the thread and are not rewritten (call 'balrog::compat::PQexec' instead) [blocking-calls]
