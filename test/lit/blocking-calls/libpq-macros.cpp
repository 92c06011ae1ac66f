// A library's own API macro: libpq's PQsetdb(host, port, options, tty, db) expands to
// PQsetdbLogin(..., NULL, NULL). The libpq map's macro entry rewrites the use of the macro to
// the twin of what it expands to; the rewritten file compiles. A user macro around it is
// still a macro body: reported, not rewritten.
// RUN: printf 'maps: [libpq]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags -I/usr/include/postgresql
// RUN: clang++-16 -fsyntax-only %balrog_std_flags -I/usr/include/postgresql -I%S/../../../drivers/pg/include %t.cpp

#include <libpq-fe.h>
// CHECK-FIXES: #include <balrog/pg/compat/libpq.hpp>
// CHECK-FIXES-NEXT: #include <libpq-fe.h>

#define CONNECT_LOCAL() PQsetdb(nullptr, nullptr, nullptr, nullptr, "postgres")

PGconn* open_db(const char* host, const char* db) {
  PGconn* c = PQsetdb(host, "5432", nullptr, nullptr, db);
  // CHECK-FIXES: PGconn* c = balrog::compat::PQsetdbLogin(host, "5432", nullptr, nullptr, db, NULL, NULL);
  if (c == nullptr) c = PQsetdb(host, "5432", /*options=*/nullptr, nullptr, (db ? db : "x"));
  // CHECK-FIXES: if (c == nullptr) c = balrog::compat::PQsetdbLogin(host, "5432", /*options=*/nullptr, nullptr, (db ? db : "x"), NULL, NULL);
  return c;
}

PGconn* open_local() {
  return CONNECT_LOCAL();
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: call to 'PQsetdbLogin' blocks the thread; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [blocking-calls]
}
