/* One session of an ordinary libpq program, in C: connect, set the client encoding, create and
 * fill a table (parameters, a prepared statement), an error with its SQLSTATE, COPY in and out,
 * a large object, the asynchronous API and pipeline mode. Everything it sees goes into a
 * transcript, which must not depend on how the calls wait. SESSION_NAME names the function (the
 * build compiles this file twice). */
#include <libpq-fe.h>
#include <libpq/libpq-fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

struct transcript {
  char* buf;
  size_t size;
  size_t used;
};

static void say(struct transcript* t, const char* format, ...) {
  va_list args;
  va_start(args, format);
  if (t->used < t->size) {
    const int n = vsnprintf(t->buf + t->used, t->size - t->used, format, args);
    if (n > 0) t->used += (size_t)n;
  }
  va_end(args);
}

/* A result's status, SQLSTATE and values; frees it. */
static void show(struct transcript* t, PGresult* r) {
  int row;
  int col;
  if (r == NULL) {
    say(t, "NULL\n");
    return;
  }
  say(t, "%s", PQresStatus(PQresultStatus(r)));
  if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
    say(t, " %s %s", PQresultErrorField(r, PG_DIAG_SQLSTATE),
        PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
  }
  for (row = 0; row < PQntuples(r); ++row) {
    for (col = 0; col < PQnfields(r); ++col) {
      say(t, " %s", PQgetisnull(r, row, col) ? "<null>" : PQgetvalue(r, row, col));
    }
  }
  say(t, " [%s]\n", PQcmdTuples(r));
  PQclear(r);
}

/* Every result of the current command, to the end. */
static void show_all(struct transcript* t, PGconn* conn) {
  PGresult* r;
  while ((r = PQgetResult(conn)) != NULL) show(t, r);
}

int SESSION_NAME(const char* conninfo, int id, char* out, size_t out_size) {
  struct transcript t = {out, out_size, 0};
  PGconn* conn;
  char value[32];
  char name[32];
  const char* params[2];
  char* row;
  int n;
  int i;
  Oid lo;
  int fd;
  char blob[4000];
  char back[4000];

  out[0] = '\0';
  conn = PQconnectdb(conninfo);
  if (PQstatus(conn) != CONNECTION_OK) {
    say(&t, "connect failed: %s", PQerrorMessage(conn));
    PQfinish(conn);
    return -1;
  }
  say(&t, "session %d\n", id);
  say(&t, "encoding %d %s\n", PQsetClientEncoding(conn, "UTF8"),
      pg_encoding_to_char(PQclientEncoding(conn)));

  show(&t, PQexec(conn, "create temp table item(id int primary key, name text)"));
  for (i = 1; i <= 5; ++i) {
    snprintf(value, sizeof value, "%d", id * 100 + i);
    snprintf(name, sizeof name, "item-%d-%d", id, i);
    params[0] = value;
    params[1] = name;
    show(&t, PQexecParams(conn, "insert into item values ($1, $2)", 2, NULL, params, NULL, NULL,
                          0));
  }
  show(&t, PQexec(conn, "select count(*), sum(id) from item"));
  show(&t, PQprepare(conn, "by_id", "select name from item where id = $1", 1, NULL));
  snprintf(value, sizeof value, "%d", id * 100 + 3);
  params[0] = value;
  show(&t, PQexecPrepared(conn, "by_id", 1, params, NULL, NULL, 0));
  show(&t, PQexec(conn, "select 1 / (id - id) from item"));
  show(&t, PQexec(conn, "insert into item values (1, 'x'), (1, 'y')"));

  /* COPY in, a bad row, COPY out. */
  show(&t, PQexec(conn, "copy item from stdin"));
  for (i = 6; i <= 8; ++i) {
    n = snprintf(blob, sizeof blob, "%d\tcopied-%d\n", id * 100 + i, i);
    say(&t, "put %d\n", PQputCopyData(conn, blob, n));
  }
  say(&t, "end %d\n", PQputCopyEnd(conn, NULL));
  show_all(&t, conn);
  show(&t, PQexec(conn, "copy item from stdin"));
  say(&t, "put %d\n", PQputCopyData(conn, "oops\tbad\n", 9));
  say(&t, "end %d\n", PQputCopyEnd(conn, NULL));
  show_all(&t, conn);
  show(&t, PQexec(conn, "copy (select id, name from item order by id) to stdout"));
  while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
    say(&t, "row %.*s", n, row);
    PQfreemem(row);
  }
  say(&t, "copy end %d\n", n);
  show_all(&t, conn);

  /* A large object, in a transaction. */
  show(&t, PQexec(conn, "begin"));
  lo = lo_create(conn, 0);
  say(&t, "lo %s\n", lo != InvalidOid ? "made" : PQerrorMessage(conn));
  fd = lo_open(conn, lo, INV_READ | INV_WRITE);
  for (i = 0; i < (int)sizeof blob; ++i) blob[i] = (char)('a' + (i + id) % 26);
  say(&t, "lo_write %d\n", lo_write(conn, fd, blob, sizeof blob));
  say(&t, "lo_lseek %d\n", lo_lseek(conn, fd, 0, SEEK_SET));
  n = lo_read(conn, fd, back, sizeof back);
  say(&t, "lo_read %d %s\n", n, n == (int)sizeof blob && memcmp(blob, back, sizeof blob) == 0
                                    ? "same"
                                    : "different");
  say(&t, "lo_close %d\n", lo_close(conn, fd));
  say(&t, "lo_unlink %d\n", lo_unlink(conn, lo));
  show(&t, PQexec(conn, "commit"));

  /* The asynchronous API. */
  say(&t, "send %d\n", PQsendQuery(conn, "select 'async', pg_sleep(0.01); select 2"));
  show_all(&t, conn);

  /* Pipeline mode. */
  say(&t, "pipeline %d\n", PQenterPipelineMode(conn));
  for (i = 1; i <= 3; ++i) {
    snprintf(value, sizeof value, "%d", id * 100 + i);
    params[0] = value;
    say(&t, "send %d\n",
        PQsendQueryParams(conn, i == 2 ? "select 1 / ($1::int - $1::int)" : "select name from item where id = $1::int",
                          1, NULL, params, NULL, NULL, 0));
  }
  say(&t, "sync %d\n", PQpipelineSync(conn));
  for (;;) {
    PGresult* r = PQgetResult(conn);
    if (r != NULL && PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      say(&t, "synced\n");
      break;
    }
    show(&t, r);
  }
  say(&t, "exit %d\n", PQexitPipelineMode(conn));
  PQfinish(conn);
  return 0;
}
