// The libpq map: every blocking libpq call becomes its balrog::compat twin (same arguments),
// with the include; the LISTEN/NOTIFY loop's select() comes from the posix-net map. The
// rewritten file must still compile against libpq-fe.h and balrog's header.
// RUN: printf 'maps: [libpq, posix-net]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags -I/usr/include/postgresql
// RUN: clang++-16 -fsyntax-only %balrog_std_flags -I/usr/include/postgresql -I%S/../../../drivers/pg/include %t.cpp

#include <libpq-fe.h>
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
  // The asynchronous API: only PQgetResult waits.
  PQsendQuery(conn, "select 1; select 2");
  // CHECK-FIXES: PQsendQuery(conn, "select 1; select 2");
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

bool cancel(PGconn* conn) {
  char errbuf[256];
  PGcancel* c = PQgetCancel(conn);
  const bool ok = PQcancel(c, errbuf, sizeof errbuf) == 1;
  // CHECK-FIXES: const bool ok = balrog::compat::PQcancel(c, errbuf, sizeof errbuf) == 1;
  PQfreeCancel(c);
  return ok;
}

// LISTEN/NOTIFY: select() on the socket (posix-net), then the non-blocking PQconsumeInput and
// PQnotifies, which stay.
PGnotify* wait_notification(PGconn* conn) {
  const int sock = PQsocket(conn);
  fd_set fds;
  FD_ZERO(&fds);
  FD_SET(sock, &fds);
  if (select(sock + 1, &fds, nullptr, nullptr, nullptr) < 0) return nullptr;
  // CHECK-FIXES: if (balrog::compat::select(sock + 1, &fds, nullptr, nullptr, nullptr) < 0) return nullptr;
  PQconsumeInput(conn);
  // CHECK-FIXES: PQconsumeInput(conn);
  return PQnotifies(conn);
}

// PQsetdb is a macro of libpq-fe.h whose body calls PQsetdbLogin: not rewritten, reported
// (call balrog::compat::PQsetdbLogin, or balrog::compat::PQsetdb, which the macro expands).
PGconn* old_style() { return PQsetdb("localhost", "5432", nullptr, nullptr, "app"); }
// CHECK-MESSAGES: :[[@LINE-1]]:30: warning: call to 'PQsetdbLogin' blocks the thread; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [blocking-calls]

// A pointer to PQexec: calls through it are not rewritten, reported.
using exec_fn = PGresult* (*)(PGconn*, const char*);
exec_fn pick() { return &PQexec; }
// CHECK-MESSAGES: :[[@LINE-1]]:26: warning: 'PQexec' is taken by address; calls through the pointer block the thread and are not rewritten (call 'balrog::compat::PQexec' instead) [blocking-calls]
