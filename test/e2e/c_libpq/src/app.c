/* A plain C libpq program, as people write them (nothing in it knows about balrog): connect
 * (libpq's own PQsetdb macro, with a conninfo as the database name), create a table, insert
 * rows with parameters, select them back, then LISTEN on one connection, NOTIFY from another
 * and wait for the notification with select() on PQsocket, then nap with nanosleep. Prints
 * what it sees; exits 0 when everything went as expected.
 *
 *   c_libpq_plain  "host=... port=... user=postgres dbname=postgres"
 *
 * test/e2e/c_libpq builds it twice: as written, and rewritten by balrog_wrap() onto the C face
 * of balrog's compat layer (balrog_PQexec, balrog_select...), with its main on a fiber. */
#define _POSIX_C_SOURCE 200809L

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

static int check(PGconn* conn, PGresult* r, ExecStatusType want, const char* what) {
  const ExecStatusType got = PQresultStatus(r);
  if (got != want) {
    printf("%s: %s %s", what, PQresStatus(got), PQerrorMessage(conn));
    PQclear(r);
    return 0;
  }
  PQclear(r);
  return 1;
}

static int wait_for_notification(PGconn* conn, const char* channel, int timeout_ms) {
  const int fd = PQsocket(conn);
  for (;;) {
    PGnotify* n;
    fd_set readable;
    struct timeval tv;
    int ready;
    if (PQconsumeInput(conn) == 0) return 0;
    while ((n = PQnotifies(conn)) != NULL) {
      const int match = strcmp(n->relname, channel) == 0;
      if (match) printf("notification on %s: %s\n", n->relname, n->extra);
      PQfreemem(n);
      if (match) return 1;
    }
    FD_ZERO(&readable);
    FD_SET(fd, &readable);
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    ready = select(fd + 1, &readable, NULL, NULL, &tv);
    if (ready <= 0) {
      printf("no notification (select returned %d)\n", ready);
      return 0;
    }
  }
}

int main(int argc, char** argv) {
  PGconn* conn;
  PGconn* notifier;
  PGresult* r;
  int i;
  int row;
  int ok = 1;
  struct timespec nap = {0, 10 * 1000 * 1000};

  if (argc != 2) {
    fprintf(stderr, "usage: %s CONNINFO\n", argv[0]);
    return 2;
  }
  conn = PQsetdb(NULL, NULL, NULL, NULL, argv[1]);
  if (PQstatus(conn) != CONNECTION_OK) {
    printf("connect failed: %s", PQerrorMessage(conn));
    PQfinish(conn);
    return 1;
  }
  printf("connected\n");

  ok &= check(conn, PQexec(conn, "create temp table planet(id int primary key, name text, moons int)"),
              PGRES_COMMAND_OK, "create");
  for (i = 0; i < 8; ++i) {
    static const char* const names[] = {"Mercury", "Venus", "Earth", "Mars",
                                        "Jupiter", "Saturn", "Uranus", "Neptune"};
    static const char* const moons[] = {"0", "0", "1", "2", "95", "146", "28", "16"};
    char id[16];
    const char* params[3];
    snprintf(id, sizeof id, "%d", i + 1);
    params[0] = id;
    params[1] = names[i];
    params[2] = moons[i];
    ok &= check(conn,
                PQexecParams(conn, "insert into planet values ($1, $2, $3)", 3, NULL, params,
                             NULL, NULL, 0),
                PGRES_COMMAND_OK, "insert");
  }
  r = PQexec(conn, "select id, name, moons from planet where moons > 0 order by moons desc");
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    printf("%d planets with moons\n", PQntuples(r));
    for (row = 0; row < PQntuples(r); ++row) {
      printf("  %s %s %s\n", PQgetvalue(r, row, 0), PQgetvalue(r, row, 1), PQgetvalue(r, row, 2));
    }
  } else {
    printf("select: %s", PQerrorMessage(conn));
    ok = 0;
  }
  PQclear(r);
  r = PQexec(conn, "select sum(moons), count(*) from planet");
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    printf("moons %s planets %s\n", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
  }
  PQclear(r);

  /* LISTEN here, NOTIFY from a second connection, wait with select(). */
  ok &= check(conn, PQexec(conn, "listen planets"), PGRES_COMMAND_OK, "listen");
  notifier = PQconnectdb(argv[1]);
  if (PQstatus(notifier) != CONNECTION_OK) {
    printf("second connection failed: %s", PQerrorMessage(notifier));
    ok = 0;
  } else {
    ok &= check(notifier, PQexec(notifier, "notify planets, 'Pluto is back'"), PGRES_COMMAND_OK,
                "notify");
    ok &= wait_for_notification(conn, "planets", 10000);
  }
  PQfinish(notifier);

  if (nanosleep(&nap, NULL) != 0) ok = 0;
  printf("napped\n");
  PQfinish(conn);
  printf("%s\n", ok ? "done" : "FAILED");
  return ok ? 0 : 1;
}
