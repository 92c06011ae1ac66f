// A client process for syscall_count_test: one connection, `SELECT 1` as a server-side prepared
// statement in a closed loop, by one of three clients, so that a system call tracer (strace -f)
// can count the calls each makes per query.
//
//   pg_syscall_client MODE CONNINFO QUERIES
//
// MODE: libpq  blocking libpq (PQexecPrepared), the baseline;
//       fiber  balrog::run, one fiber, balrog::await(conn.query_prepared(...)) (the driver at
//              concurrency 1);
//       sync   a plain thread with no balrog::run, the generated blocking API (each query a
//              sync-mode await: block_on on the thread's cached scheduler).
// Every client connects, prepares and runs a few warm-up queries first; then it marks the
// counted window with two failing access() calls on the paths begin_marker and end_marker
// (they show in the trace), runs QUERIES queries between them, and checks every answer.
// Exit status 0 when every answer was right, 1 otherwise, 2 on bad arguments.
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "balrog/await.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/generated/blocking.hpp"
#include "balrog/run.hpp"

namespace pg = balrog::pg;

namespace {

constexpr const char* begin_marker = "/balrog-syscall-count/begin";
constexpr const char* end_marker = "/balrog-syscall-count/end";
constexpr int warm_up = 50;

void mark(const char* path) { (void)::access(path, F_OK); }

// Runs warm_up queries, then `queries` between the markers; false on a wrong answer.
template <class Query>
bool loop(int queries, Query&& query) {
  for (int i = 0; i < warm_up; ++i) {
    if (!query()) return false;
  }
  mark(begin_marker);
  bool ok = true;
  for (int i = 0; i < queries && ok; ++i) ok = query();
  mark(end_marker);
  return ok;
}

bool run_libpq(const std::string& conninfo, int queries) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::fprintf(stderr, "libpq: %s", PQerrorMessage(conn));
    PQfinish(conn);
    return false;
  }
  PGresult* prep = PQprepare(conn, "s1", "SELECT 1", 0, nullptr);
  const bool prepared = PQresultStatus(prep) == PGRES_COMMAND_OK;
  PQclear(prep);
  const bool ok = prepared && loop(queries, [conn] {
                    PGresult* res = PQexecPrepared(conn, "s1", 0, nullptr, nullptr, nullptr, 0);
                    const bool right = PQresultStatus(res) == PGRES_TUPLES_OK &&
                                       PQntuples(res) == 1 &&
                                       std::string(PQgetvalue(res, 0, 0)) == "1";
                    PQclear(res);
                    return right;
                  });
  if (!ok) std::fprintf(stderr, "libpq: %s", PQerrorMessage(conn));
  PQfinish(conn);
  return ok;
}

bool run_fiber(const std::string& conninfo, int queries) {
  return balrog::run([&] {
    auto conn = balrog::await(pg::connection::connect(conninfo));
    (void)balrog::await(conn.prepare("s1", "SELECT 1"));
    return loop(queries,
                [&conn] { return balrog::await(conn.query_prepared("s1")).scalar<int>() == 1; });
  });
}

bool run_sync(const std::string& conninfo, int queries) {
  auto conn = pg::blocking::connect(conninfo);
  (void)pg::blocking::prepare(conn, "s1", "SELECT 1");
  return loop(queries,
              [&conn] { return pg::blocking::query_prepared(conn, "s1").scalar<int>() == 1; });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s libpq|fiber|sync CONNINFO QUERIES\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const std::string conninfo = argv[2];
  const int queries = std::atoi(argv[3]);
  try {
    bool ok = false;
    if (mode == "libpq") {
      ok = run_libpq(conninfo, queries);
    } else if (mode == "fiber") {
      ok = run_fiber(conninfo, queries);
    } else if (mode == "sync") {
      ok = run_sync(conninfo, queries);
    } else {
      std::fprintf(stderr, "bad mode %s\n", mode.c_str());
      return 2;
    }
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", mode.c_str(), e.what());
    return 1;
  }
}
