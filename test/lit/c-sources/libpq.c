// A C libpq program: the libpq map's calls become the C face of the libpq compat layer
// (balrog_PQexec... in balrog/pg/compat/libpq_c.h), and libpq's own PQsetdb macro is
// rewritten at its use to the C twin of what it expands to. Calls that never wait (PQclear,
// PQntuples...) stay. The result compiles as C.
// RUN: printf 'maps: [libpq]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- -std=c99 -I/usr/include/postgresql -I%S/../../../drivers/pg/include
// RUN: clang-16 -x c -std=c99 -Wall -Wextra -Werror -fsyntax-only -I/usr/include/postgresql -I%S/../../../drivers/pg/include %t.c
// RUN: sed 's|//.*||' %t.c | %not grep -E '::|\.hpp'

#include <libpq-fe.h>
#include <stdio.h>
// CHECK-FIXES: #include <balrog/pg/compat/libpq_c.h>
// CHECK-FIXES-NEXT: #include <libpq-fe.h>

int count_rows(const char* conninfo) {
  PGconn* conn = PQconnectdb(conninfo);
  // CHECK-FIXES: PGconn* conn = balrog_PQconnectdb(conninfo);
  PGconn* other = PQsetdb("localhost", "5432", NULL, NULL, "postgres");
  // CHECK-FIXES: PGconn* other = balrog_PQsetdbLogin("localhost", "5432", NULL, NULL, "postgres", NULL, NULL);
  PGresult* r;
  int n;
  if (PQstatus(conn) != CONNECTION_OK) {
    // CHECK-FIXES: if (balrog_PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "%s", PQerrorMessage(conn));
    // CHECK-FIXES: fprintf(stderr, "%s", balrog_PQerrorMessage(conn));
    return -1;
  }
  r = PQexec(conn, "select 1 union all select 2");
  // CHECK-FIXES: r = balrog_PQexec(conn, "select 1 union all select 2");
  n = PQntuples(r);
  // CHECK-FIXES: n = PQntuples(r);
  PQclear(r);
  // CHECK-FIXES: PQclear(r);
  PQfinish(other);
  // CHECK-FIXES: balrog_PQfinish(other);
  PQfinish(conn);
  // CHECK-FIXES: balrog_PQfinish(conn);
  return n;
}
