// The "multiplexed sessions" case of `scripts/bench pg` (issue 11 §5): many short libpq
// sessions, each connecting and running a few transactions with think time, against a server
// with a few connections for them.
//
//   bench_pg_mux_sessions --mode threads|balrog --conninfo "..." --sessions N
//       [--transactions 20] [--think-ms 10] [--physical 20]
//
// threads: one std::thread per session, the plain libpq code (mux_session.inc) as it is; the
//          conninfo points at PgBouncer in transaction mode (pg_bench.py starts it).
// balrog:  one thread, one fiber per session, the same code with its calls mapped to
//          balrog::compat (as balrog-gen rewrites them), multiplexed onto --physical server
//          connections (balrog::compat::set_multiplex).
// Every session owns row `i` of mux_rows (created here, n = 0); at the end every row must be
// --transactions. Prints one record: sessions, failed, wrong_rows, seconds, sessions_per_s,
// cpu_s.
#include <libpq-fe.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "balrog/compat/posix_time.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/compat/libpq.hpp"
#include "balrog/run.hpp"
#include "harness.hpp"

namespace plain {
#include "mux_session.inc"
}  // namespace plain

namespace rewritten {
// The calls balrog-gen's libpq and posix-time maps rewrite, and the state functions that
// multiplexed connections need.
#define PQconnectdb balrog::compat::PQconnectdb
#define PQexec balrog::compat::PQexec
#define PQexecParams balrog::compat::PQexecParams
#define PQfinish balrog::compat::PQfinish
#define PQstatus balrog::compat::PQstatus
#define PQerrorMessage balrog::compat::PQerrorMessage
#define usleep balrog::compat::usleep
#include "mux_session.inc"
#undef PQconnectdb
#undef PQexec
#undef PQexecParams
#undef PQfinish
#undef PQstatus
#undef PQerrorMessage
#undef usleep
}  // namespace rewritten

namespace {

double cpu_now() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

bool admin(const std::string& conninfo, const char* sql, std::string* value = nullptr) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  PGresult* r = PQexec(c, sql);
  const ExecStatusType st = PQresultStatus(r);
  const bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  if (!ok) std::fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
  if (ok && value != nullptr && PQntuples(r) > 0) *value = PQgetvalue(r, 0, 0);
  PQclear(r);
  PQfinish(c);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "balrog", conninfo, direct;
  int sessions = 100, transactions = 20, physical = 20;
  double think_ms = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--mode")
      mode = v;
    else if (k == "--conninfo")
      conninfo = v;
    else if (k == "--direct")
      direct = v;  // for set-up and the check (default: --conninfo)
    else if (k == "--sessions")
      sessions = std::atoi(v.c_str());
    else if (k == "--transactions")
      transactions = std::atoi(v.c_str());
    else if (k == "--think-ms")
      think_ms = std::atof(v.c_str());
    else if (k == "--physical")
      physical = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (direct.empty()) direct = conninfo;
  if (!admin(direct, "DROP TABLE IF EXISTS mux_rows") ||
      !admin(direct, "CREATE TABLE mux_rows (id int PRIMARY KEY, n int NOT NULL)") ||
      !admin(direct, ("INSERT INTO mux_rows SELECT g, 0 FROM generate_series(0, " +
                      std::to_string(sessions - 1) + ") g")
                         .c_str())) {
    return 1;
  }
  const auto think = static_cast<unsigned>(think_ms * 1000);
  std::atomic<int> failed{0};
  const double cpu0 = cpu_now();
  const auto t0 = std::chrono::steady_clock::now();
  if (mode == "threads") {
    std::vector<std::thread> threads;
    threads.reserve(sessions);
    for (int i = 0; i < sessions; ++i) {
      threads.emplace_back(
          [&, i] { failed += plain::session(conninfo.c_str(), i, transactions, think); });
    }
    for (auto& t : threads) t.join();
  } else if (mode == "balrog") {
    balrog::compat::set_multiplex(physical);
    balrog::run([&] {
      std::vector<balrog::fiber<void>> fibers;
      fibers.reserve(sessions);
      for (int i = 0; i < sessions; ++i) {
        fibers.push_back(balrog::spawn(
            [&, i] { failed += rewritten::session(conninfo.c_str(), i, transactions, think); }));
      }
      for (auto& f : fibers) f.join();
    });
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_now() - cpu0;
  std::string wrong = "?";
  admin(direct,
        ("SELECT count(*) FROM mux_rows WHERE n <> " + std::to_string(transactions)).c_str(),
        &wrong);
  std::printf("%s\n", balrog_bench::format_record({{"sessions", static_cast<double>(sessions)},
                                                   {"failed", static_cast<double>(failed.load())},
                                                   {"wrong_rows", std::atof(wrong.c_str())},
                                                   {"seconds", seconds},
                                                   {"sessions_per_s", sessions / seconds},
                                                   {"cpu_s", cpu}})
                          .c_str());
  return failed.load() == 0 && wrong == "0" ? 0 : 1;
}
