// Multiplexed compat connections (docs/pg-compat.md, "Many sessions, few server connections"):
// many virtual PGconn's over a few physical ones, pinning in transactions, after SET, after
// LISTEN, the statement rules, and a killed physical connection.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/compat/libpq.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "compat/libpq_mux.hpp"
#include "support/pg_cluster.hpp"

using namespace std::chrono_literals;
namespace compat = balrog::compat;
using balrog::test::pg_cluster;

namespace {

class cluster_environment : public ::testing::Environment {
 public:
  void SetUp() override { pg_cluster::conninfo(); }
};
[[maybe_unused]] ::testing::Environment* const cluster =
    ::testing::AddGlobalTestEnvironment(new cluster_environment);

// A conninfo of its own per test (its own group of physical connections), recognizable in
// pg_stat_activity.
std::string info(const std::string& app) {
  return pg_cluster::conninfo() + " application_name=" + app;
}

// Runs `sql` and returns the first value ("<error: SQLSTATE>" on an error, "<null>" for NULL).
std::string one(PGconn* c, const std::string& sql) {
  PGresult* r = compat::PQexec(c, sql.c_str());
  if (r == nullptr) return std::string("<no result: ") + compat::PQerrorMessage(c) + ">";
  std::string out;
  const ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
    out = PQgetisnull(r, 0, 0) != 0 ? "<null>" : PQgetvalue(r, 0, 0);
  } else if (st == PGRES_COMMAND_OK) {
    out = PQcmdStatus(r);
  } else if (st == PGRES_TUPLES_OK) {
    out = "<no rows>";
  } else {
    const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out = std::string("<error: ") + (s != nullptr ? s : "?") + ">";
  }
  PQclear(r);
  return out;
}

// Server connections of an application_name, seen from a real (not multiplexed) connection.
int server_connections(PGconn* admin, const std::string& app) {
  return std::atoi(
      one(admin, "select count(*) from pg_stat_activity where application_name = '" + app + "'")
          .c_str());
}

// The server connections of `apps` once their backends have exited (they exit shortly after
// the client closes: polled for up to 5 s).
int lingering_connections(PGconn* admin, const std::vector<std::string>& apps) {
  int n = 0;
  for (int tries = 0; tries < 500; ++tries) {
    n = 0;
    for (const auto& app : apps) n += server_connections(admin, app);
    if (n == 0) break;
    std::this_thread::sleep_for(10ms);
  }
  return n;
}

struct multiplex_scope {
  explicit multiplex_scope(int n) { compat::set_multiplex(n); }
  ~multiplex_scope() { compat::set_multiplex(0); }
};

PGconn* admin_connection() {
  PGconn* c = ::PQconnectdb(pg_cluster::conninfo().c_str());
  EXPECT_EQ(::PQstatus(c), CONNECTION_OK) << ::PQerrorMessage(c);
  return c;
}

TEST(PgMultiplexRules, StatementsThatPinForLife) {
  using compat::mux::pins_for_life;
  EXPECT_TRUE(pins_for_life("LISTEN jobs"));
  EXPECT_TRUE(pins_for_life("  listen jobs"));
  EXPECT_TRUE(pins_for_life("prepare s as select 1"));
  EXPECT_TRUE(pins_for_life("SET work_mem = '1MB'"));
  EXPECT_TRUE(pins_for_life("set session authorization default"));
  EXPECT_TRUE(pins_for_life("select 1; set search_path = x"));
  EXPECT_TRUE(pins_for_life("/* c */ -- d\n SET x.y = 1"));
  EXPECT_TRUE(pins_for_life("create temp table t (a int)"));
  EXPECT_TRUE(pins_for_life("CREATE TEMPORARY VIEW v AS SELECT 1"));
  EXPECT_TRUE(pins_for_life("select * into temp t from x"));
  EXPECT_TRUE(pins_for_life("select pg_advisory_lock(1)"));
  EXPECT_TRUE(pins_for_life("select pg_try_advisory_lock_shared(1)"));
  EXPECT_TRUE(pins_for_life("select set_config('a.b', '1', false)"));
  EXPECT_TRUE(pins_for_life("declare c cursor with hold for select 1"));
  EXPECT_TRUE(pins_for_life("do $$ begin perform 1; end $$"));
  EXPECT_TRUE(pins_for_life("reset all"));
  EXPECT_TRUE(pins_for_life("select E'it\\'s'; listen x"));

  EXPECT_FALSE(pins_for_life("select 1"));
  EXPECT_FALSE(pins_for_life("SET LOCAL work_mem = '1MB'"));
  EXPECT_FALSE(pins_for_life("set transaction isolation level serializable"));
  EXPECT_FALSE(pins_for_life("set constraints all deferred"));
  EXPECT_FALSE(pins_for_life("begin; update t set a = 1; commit"));
  EXPECT_FALSE(pins_for_life("select pg_advisory_xact_lock(1)"));
  EXPECT_FALSE(pins_for_life("select 'set x = 1; listen y; temp'"));
  EXPECT_FALSE(pins_for_life("select $q$ listen; temp $q$, \"temp\""));
  EXPECT_FALSE(pins_for_life("select e'\\' ; listen x'"));
  EXPECT_FALSE(pins_for_life("select 1 -- listen\n"));
  EXPECT_FALSE(pins_for_life("insert into templates values (1)"));
}

TEST(PgMultiplex, TwoHundredSessionsOverFourConnections) {
  const std::string app = "mux_many";
  PGconn* admin = admin_connection();
  ASSERT_EQ(one(admin, "drop table if exists mux_acc"), "DROP TABLE");
  ASSERT_EQ(one(admin, "create table mux_acc (id int primary key, n int not null)"),
            "CREATE TABLE");
  ASSERT_EQ(one(admin, "insert into mux_acc select g, 0 from generate_series(0, 199) g"),
            "INSERT 0 200");
  constexpr int sessions = 200, rounds = 5;
  int failures = 0, connected = 0, max_servers = 0;
  std::set<std::string> pids;
  balrog::run([&] {
    multiplex_scope on(4);
    std::vector<balrog::fiber<void>> fibers;
    fibers.reserve(sessions);
    for (int i = 0; i < sessions; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        PGconn* c = compat::PQconnectdb(info(app).c_str());
        if (compat::PQstatus(c) != CONNECTION_OK) {
          ++failures;
          compat::PQfinish(c);
          return;
        }
        ++connected;
        const std::string me = std::to_string(i);
        for (int k = 0; k < rounds; ++k) {
          if (one(c, "begin") != "BEGIN") ++failures;
          if (compat::PQtransactionStatus(c) != PQTRANS_INTRANS) ++failures;
          const std::string pid = one(c, "select pg_backend_pid()");
          pids.insert(pid);
          if (one(c, "update mux_acc set n = n + 1 where id = " + me) != "UPDATE 1") ++failures;
          balrog::this_fiber::sleep_for(1ms);  // others run meanwhile
          // The same server session for the whole transaction, which sees its own write.
          if (one(c, "select pg_backend_pid()") != pid) ++failures;
          if (one(c, "select n from mux_acc where id = " + me) != std::to_string(k + 1)) {
            ++failures;
          }
          if (one(c, "commit") != "COMMIT") ++failures;
          if (compat::PQtransactionStatus(c) != PQTRANS_IDLE) ++failures;
          if (compat::PQbackendPID(c) != 0) ++failures;  // unpinned again
          // Outside a transaction: a shared physical connection.
          if (one(c, "select n from mux_acc where id = " + me) != std::to_string(k + 1)) {
            ++failures;
          }
        }
        compat::PQfinish(c);
      }));
    }
    auto watcher = balrog::spawn([&] {
      while (connected < sessions && failures == 0) {
        max_servers = std::max(max_servers, server_connections(admin, app));
        balrog::this_fiber::sleep_for(5ms);
      }
    });
    for (auto& f : fibers) f.join();
    watcher.join();
  });
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(connected, sessions);
  EXPECT_LE(pids.size(), 4U);
  EXPECT_LE(max_servers, 4);
  EXPECT_EQ(one(admin, "select count(*) from mux_acc where n = " + std::to_string(rounds)), "200");
  // The last virtual connection closed the physical ones.
  EXPECT_EQ(lingering_connections(admin, {app}), 0);
  ::PQfinish(admin);
}

TEST(PgMultiplex, TransactionIsolationAndErrors) {
  const std::string app = "mux_tx";
  PGconn* admin = admin_connection();
  ASSERT_EQ(one(admin, "drop table if exists mux_tx"), "DROP TABLE");
  ASSERT_EQ(one(admin, "create table mux_tx (x int)"), "CREATE TABLE");
  balrog::run([&] {
    multiplex_scope on(2);
    PGconn* a = compat::PQconnectdb(info(app).c_str());
    PGconn* b = compat::PQconnectdb(info(app).c_str());
    ASSERT_EQ(compat::PQstatus(a), CONNECTION_OK);
    ASSERT_EQ(compat::PQstatus(b), CONNECTION_OK);
    EXPECT_EQ(one(a, "begin"), "BEGIN");
    EXPECT_EQ(one(a, "insert into mux_tx values (1)"), "INSERT 0 1");
    // b does not run inside a's transaction: it does not see the uncommitted row.
    EXPECT_EQ(one(b, "select count(*) from mux_tx"), "0");
    EXPECT_EQ(one(b, "begin"), "BEGIN");
    EXPECT_EQ(one(b, "insert into mux_tx values (2)"), "INSERT 0 1");
    // An error in a's transaction aborts a's transaction only.
    EXPECT_EQ(one(a, "select 1/0"), "<error: 22012>");
    EXPECT_EQ(compat::PQtransactionStatus(a), PQTRANS_INERROR);
    EXPECT_NE(std::string(compat::PQerrorMessage(a)).find("division by zero"), std::string::npos);
    EXPECT_EQ(one(a, "select 1"), "<error: 25P02>");
    EXPECT_EQ(compat::PQtransactionStatus(b), PQTRANS_INTRANS);
    EXPECT_EQ(one(a, "commit"), "ROLLBACK");
    EXPECT_EQ(compat::PQtransactionStatus(a), PQTRANS_IDLE);
    EXPECT_EQ(one(b, "commit"), "COMMIT");
    EXPECT_EQ(one(a, "select string_agg(x::text, ',') from mux_tx"), "2");
    // An error outside a transaction leaves the session usable and unpinned.
    EXPECT_EQ(one(a, "select * from no_such_table"), "<error: 42P01>");
    EXPECT_EQ(compat::PQtransactionStatus(a), PQTRANS_IDLE);
    EXPECT_EQ(compat::PQbackendPID(a), 0);
    EXPECT_EQ(one(a, "select 7"), "7");
    // Parameters and a result of several rows through a shared connection.
    const char* values[] = {"40", "2"};
    PGresult* r = compat::PQexecParams(a, "select $1::int + $2::int, g from generate_series(1,3) g",
                                       2, nullptr, values, nullptr, nullptr, 0);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
    EXPECT_EQ(PQntuples(r), 3);
    EXPECT_STREQ(PQgetvalue(r, 0, 0), "42");
    PQclear(r);
    // A handle's own libpq functions (not through compat) fail cleanly: it never connected.
    EXPECT_EQ(::PQstatus(a), CONNECTION_BAD);
    compat::PQfinish(a);
    compat::PQfinish(b);
  });
  ::PQfinish(admin);
}

TEST(PgMultiplex, SetAndParameterStatusPinForLife) {
  const std::string app = "mux_set";
  PGconn* admin = admin_connection();
  ASSERT_EQ(one(admin,
                "create or replace function mux_rename() returns text language sql as "
                "$$ select set_config('application_name', 'mux_renamed', false) $$"),
            "CREATE FUNCTION");
  balrog::run([&] {
    multiplex_scope on(3);
    PGconn* a = compat::PQconnectdb(info(app).c_str());
    PGconn* b = compat::PQconnectdb(info(app).c_str());
    PGconn* c = compat::PQconnectdb(info(app).c_str());
    const std::string normal = one(b, "show work_mem");
    EXPECT_EQ(one(a, "set work_mem = '1234kB'"), "SET");
    const int pid = compat::PQbackendPID(a);
    EXPECT_NE(pid, 0);  // pinned
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(one(b, "show work_mem"), normal);  // never a's session
      EXPECT_EQ(one(a, "show work_mem"), "1234kB");
    }
    EXPECT_EQ(compat::PQbackendPID(a), pid);
    // SET LOCAL inside a transaction pins for the transaction only.
    EXPECT_EQ(one(b, "begin"), "BEGIN");
    EXPECT_EQ(one(b, "set local work_mem = '2MB'"), "SET");
    EXPECT_NE(compat::PQbackendPID(b), 0);
    EXPECT_EQ(one(b, "commit"), "COMMIT");
    EXPECT_EQ(compat::PQbackendPID(b), 0);
    EXPECT_EQ(one(b, "show work_mem"), normal);
    // A reported setting changed where no keyword shows it: ParameterStatus pins.
    EXPECT_EQ(one(c, "select mux_rename()"), "mux_renamed");
    EXPECT_NE(compat::PQbackendPID(c), 0);
    EXPECT_STREQ(compat::PQparameterStatus(c, "application_name"), "mux_renamed");
    EXPECT_EQ(one(c, "show application_name"), "mux_renamed");
    EXPECT_EQ(one(b, "show application_name"), app);
    compat::PQfinish(a);
    compat::PQfinish(b);
    compat::PQfinish(c);
  });
  EXPECT_EQ(lingering_connections(admin, {app, "mux_renamed"}), 0);
  ::PQfinish(admin);
}

// PQfinish on another thread hands the virtual connection to its connecting thread, which
// closes the pinned server connection at its next call; nothing else is touched meanwhile.
TEST(PgMultiplex, FinishOnAnotherThreadIsSettledByTheConnectingThread) {
  const std::string app = "mux_finish_elsewhere";
  PGconn* admin = admin_connection();
  balrog::run([&] {
    multiplex_scope on(2);
    PGconn* a = compat::PQconnectdb(info(app).c_str());
    PGconn* b = compat::PQconnectdb(info(app).c_str());
    EXPECT_EQ(one(a, "begin"), "BEGIN");
    const int pinned_pid = compat::PQbackendPID(a);
    EXPECT_NE(pinned_pid, 0);
    std::thread([a] { compat::PQfinish(a); }).join();
    // b's next statement settles a: its server session (with the open transaction) ends.
    EXPECT_EQ(one(b, "select 1"), "1");
    bool gone = false;
    for (int tries = 0; tries < 500 && !gone; ++tries) {
      gone = one(admin, "select count(*) from pg_stat_activity where pid = " +
                            std::to_string(pinned_pid)) == "0";
      if (!gone) balrog::this_fiber::sleep_for(10ms);
    }
    EXPECT_TRUE(gone) << "the pinned server connection of the finished session is still open";
    for (int i = 0; i < 10; ++i) EXPECT_EQ(one(b, "select 2"), "2");
    compat::PQfinish(b);
  });
  EXPECT_EQ(lingering_connections(admin, {app}), 0);
  ::PQfinish(admin);
}

TEST(PgMultiplex, ListenPinsAndNotificationsArrive) {
  const std::string app = "mux_listen";
  balrog::run([&] {
    multiplex_scope on(2);
    PGconn* listener = compat::PQconnectdb(info(app).c_str());
    PGconn* other = compat::PQconnectdb(info(app).c_str());
    EXPECT_EQ(one(listener, "listen mux_jobs"), "LISTEN");
    EXPECT_NE(compat::PQbackendPID(listener), 0);
    EXPECT_GE(compat::PQsocket(listener), 0);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(one(other, "notify mux_jobs, 'job" + std::to_string(i) + "'"), "NOTIFY");
    }
    std::vector<std::string> got;
    for (int tries = 0; tries < 500 && got.size() < 5; ++tries) {
      ASSERT_EQ(compat::PQconsumeInput(listener), 1);
      while (PGnotify* n = compat::PQnotifies(listener)) {
        got.emplace_back(n->extra);
        PQfreemem(n);
      }
      balrog::this_fiber::sleep_for(5ms);
    }
    EXPECT_EQ(got, (std::vector<std::string>{"job0", "job1", "job2", "job3", "job4"}));
    compat::PQfinish(listener);
    compat::PQfinish(other);
  });
}

TEST(PgMultiplex, CopyPinsWhileInProgress) {
  const std::string app = "mux_copy";
  PGconn* admin = admin_connection();
  ASSERT_EQ(one(admin, "drop table if exists mux_copy"), "DROP TABLE");
  ASSERT_EQ(one(admin, "create table mux_copy (a int, b text)"), "CREATE TABLE");
  balrog::run([&] {
    multiplex_scope on(2);
    PGconn* a = compat::PQconnectdb(info(app).c_str());
    PGconn* b = compat::PQconnectdb(info(app).c_str());
    PGresult* r = compat::PQexec(a, "copy mux_copy from stdin");
    ASSERT_EQ(PQresultStatus(r), PGRES_COPY_IN);
    PQclear(r);
    EXPECT_EQ(one(b, "select 1"), "1");  // meanwhile, on the other physical connection
    const std::string rows = "1\tx\n2\ty\n";
    EXPECT_EQ(compat::PQputCopyData(a, rows.data(), static_cast<int>(rows.size())), 1);
    EXPECT_EQ(compat::PQputCopyEnd(a, nullptr), 1);
    r = compat::PQgetResult(a);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
    EXPECT_STREQ(PQcmdStatus(r), "COPY 2");
    PQclear(r);
    EXPECT_EQ(compat::PQgetResult(a), nullptr);
    EXPECT_EQ(compat::PQbackendPID(a), 0);  // unpinned once the COPY is over
    EXPECT_EQ(one(b, "select count(*) from mux_copy"), "2");
    compat::PQfinish(a);
    compat::PQfinish(b);
  });
  ::PQfinish(admin);
}

TEST(PgMultiplex, KilledPhysicalConnectionFailsOnlyItsSessions) {
  const std::string app = "mux_kill";
  PGconn* admin = admin_connection();
  int others_ok = 0;
  balrog::run([&] {
    multiplex_scope on(3);
    PGconn* a = compat::PQconnectdb(info(app).c_str());
    PGconn* b = compat::PQconnectdb(info(app).c_str());
    PGconn* idle = compat::PQconnectdb(info(app).c_str());
    EXPECT_EQ(one(idle, "select 1"), "1");
    EXPECT_EQ(one(a, "begin"), "BEGIN");
    EXPECT_EQ(one(b, "begin"), "BEGIN");
    const int victim = compat::PQbackendPID(a);
    ASSERT_NE(victim, 0);
    ASSERT_NE(victim, compat::PQbackendPID(b));
    EXPECT_EQ(one(admin, "select pg_terminate_backend(" + std::to_string(victim) + ")"), "t");
    balrog::this_fiber::sleep_for(50ms);
    PGresult* r = compat::PQexec(a, "select 1");
    EXPECT_TRUE(r == nullptr || PQresultStatus(r) == PGRES_FATAL_ERROR);
    PQclear(r);
    EXPECT_EQ(compat::PQstatus(a), CONNECTION_BAD);
    EXPECT_EQ(compat::PQtransactionStatus(a), PQTRANS_UNKNOWN);
    EXPECT_FALSE(std::string(compat::PQerrorMessage(a)).empty());
    EXPECT_EQ(compat::PQexec(a, "select 1"), nullptr);  // as libpq on a lost connection
    // The others go on: b's transaction commits, the idle session and new ones run.
    EXPECT_EQ(one(b, "select 2"), "2");
    EXPECT_EQ(one(b, "commit"), "COMMIT");
    EXPECT_EQ(compat::PQstatus(b), CONNECTION_OK);
    EXPECT_EQ(compat::PQstatus(idle), CONNECTION_OK);
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 20; ++i) {
      fibers.push_back(balrog::spawn([&] {
        PGconn* c = compat::PQconnectdb(info(app).c_str());
        if (one(c, "select 3") == "3" && one(idle, "select 4") == "4") ++others_ok;
        compat::PQfinish(c);
      }));
    }
    for (auto& f : fibers) f.join();
    // PQreset gives the lost session a new start.
    compat::PQreset(a);
    EXPECT_EQ(compat::PQstatus(a), CONNECTION_OK);
    EXPECT_EQ(one(a, "select 5"), "5");
    compat::PQfinish(a);
    compat::PQfinish(b);
    compat::PQfinish(idle);
  });
  EXPECT_EQ(others_ok, 20);
  ::PQfinish(admin);
}

// A statement waiting for a physical connection (every one pinned) gives up at its deadline, the
// C way; the sessions behind it still get their turn when a connection comes free.
TEST(PgMultiplex, DeadlineWhileEveryConnectionIsPinned) {
  const std::string app = "mux_deadline";
  balrog::run([&] {
    multiplex_scope on(1);
    PGconn* holder = compat::PQconnectdb(info(app).c_str());
    PGconn* impatient = compat::PQconnectdb(info(app).c_str());
    PGconn* patient = compat::PQconnectdb(info(app).c_str());
    EXPECT_EQ(one(holder, "begin"), "BEGIN");  // pins the only physical connection
    std::string patient_got;
    auto waiter = balrog::spawn([&] { patient_got = one(patient, "select 'patient'"); });
    {
      balrog::deadline_scope limit(balrog::deadline(100ms));
      errno = 0;
      EXPECT_EQ(compat::PQexec(impatient, "select 1"), nullptr);
      EXPECT_EQ(errno, ETIMEDOUT);
    }
    EXPECT_EQ(compat::PQstatus(impatient), CONNECTION_OK);
    EXPECT_EQ(patient_got, "");  // still waiting
    EXPECT_EQ(one(holder, "commit"), "COMMIT");
    waiter.join();
    EXPECT_EQ(patient_got, "patient");
    EXPECT_EQ(one(impatient, "select 2"), "2");
    compat::PQfinish(holder);
    compat::PQfinish(impatient);
    compat::PQfinish(patient);
  });
}

TEST(PgMultiplex, EnvironmentVariableWithoutACall) {
  compat::set_multiplex(-1);  // back to the environment
  balrog::run([&] {
    ::setenv("BALROG_PG_MULTIPLEX", "2", 1);
    PGconn* v = compat::PQconnectdb(info("mux_env").c_str());
    EXPECT_NE(compat::mux::find(v), nullptr);
    EXPECT_EQ(one(v, "select 8"), "8");
    ::setenv("BALROG_PG_MULTIPLEX", "not a number", 1);
    PGconn* r = compat::PQconnectdb(info("mux_env").c_str());
    EXPECT_EQ(compat::mux::find(r), nullptr);
    EXPECT_EQ(::PQstatus(r), CONNECTION_OK);
    ::unsetenv("BALROG_PG_MULTIPLEX");
    PGconn* r2 = compat::PQconnectdb(info("mux_env").c_str());
    EXPECT_EQ(compat::mux::find(r2), nullptr);
    compat::PQfinish(v);
    compat::PQfinish(r);
    compat::PQfinish(r2);
  });
  compat::set_multiplex(0);
}

TEST(PgMultiplex, OffAfterSetMultiplexZero) {
  compat::set_multiplex(0);
  balrog::run([&] {
    PGconn* c = compat::PQconnectdb(pg_cluster::conninfo().c_str());
    EXPECT_EQ(compat::mux::find(c), nullptr);
    EXPECT_EQ(::PQstatus(c), CONNECTION_OK);
    compat::PQfinish(c);
  });
}

}  // namespace
