// Multiplexed compat connections (docs/pg-compat.md, "Many sessions, few server connections"):
// many virtual PGconn's over a few physical ones, pinning in transactions, after SET, after
// LISTEN, the statement rules, and a killed physical connection.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/compat/libpq.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "compat/libpq_mux.hpp"
#include "support/pg_cluster.hpp"
#include "support/tcp_fault_proxy.hpp"

using namespace std::chrono_literals;
namespace compat = balrog::compat;
using balrog::test::pg_cluster;
using balrog::test::tcp_fault_proxy;

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

TEST(PgMultiplexRules, WhatPipelines) {
  using compat::mux::pipelines;
  EXPECT_TRUE(pipelines("select 1"));
  EXPECT_TRUE(pipelines("  SELECT n FROM t WHERE id = $1;"));
  EXPECT_TRUE(pipelines("/* c */ insert into t values (1) returning id"));
  EXPECT_TRUE(pipelines("update t set n = n + 1"));
  EXPECT_TRUE(pipelines("delete from t"));
  EXPECT_TRUE(pipelines("with x as (select 1) select * from x"));
  EXPECT_TRUE(pipelines("values (1)"));
  EXPECT_TRUE(pipelines("table t"));
  EXPECT_TRUE(pipelines("show work_mem"));
  EXPECT_TRUE(pipelines("select 'begin; commit'"));
  EXPECT_TRUE(pipelines("select pg_advisory_xact_lock(1)"));

  EXPECT_FALSE(pipelines("begin"));
  EXPECT_FALSE(pipelines("start transaction"));
  EXPECT_FALSE(pipelines("commit"));
  EXPECT_FALSE(pipelines("copy t from stdin"));
  EXPECT_FALSE(pipelines("create table t (a int)"));
  EXPECT_FALSE(pipelines("vacuum t"));
  EXPECT_FALSE(pipelines("select 1; select 2"));
  EXPECT_FALSE(pipelines("begin; select 1"));
  EXPECT_FALSE(pipelines("(select 1)"));
  EXPECT_FALSE(pipelines(""));
  EXPECT_FALSE(pipelines("select pg_advisory_lock(1)"));
  EXPECT_FALSE(pipelines("select set_config('a.b', '1', false)"));
  EXPECT_FALSE(pipelines("select * into temp t from x"));
  EXPECT_FALSE(pipelines("set work_mem = '1MB'"));
  EXPECT_FALSE(pipelines("listen x"));
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

// --- pipelining ------------------------------------------------------------------------------

// The first row of `sql`'s result, one string per column ("<null>" for NULL); on an error, one
// element "<error: SQLSTATE>"; NULL: "<no result>".
std::vector<std::string> first_row(PGconn* c, const std::string& sql) {
  PGresult* r = compat::PQexec(c, sql.c_str());
  if (r == nullptr) return {"<no result>"};
  std::vector<std::string> out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
    for (int i = 0; i < PQnfields(r); ++i) {
      out.emplace_back(PQgetisnull(r, 0, i) != 0 ? "<null>" : PQgetvalue(r, 0, i));
    }
  } else if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
    const char* st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    out.emplace_back(std::string("<error: ") + (st != nullptr ? st : "?") + ">");
  } else {
    out.emplace_back(PQresStatus(PQresultStatus(r)));
  }
  PQclear(r);
  return out;
}

// The server through a proxy that delays every chunk `delay` in each direction.
std::string delayed(const tcp_fault_proxy& proxy, const std::string& app) {
  return "host=127.0.0.1 port=" + std::to_string(proxy.port()) +
         " user=postgres dbname=postgres sslmode=disable application_name=" + app;
}

std::uint16_t server_port() { return static_cast<std::uint16_t>(std::stoi(pg_cluster::port())); }

// Eight sessions on ONE physical connection, over a link with 100 ms of delay each way: their
// statements are in flight together. The server's own clock shows it: the backend reads them
// (statement_timestamp) within less than one delay of each other, where taking turns would put
// a full round trip (>= 200 ms) between consecutive ones. (Eight pg_sleep(0.2) cannot finish in
// less than 1.6 s on one server connection, pipelined or not: one backend runs its statements
// one after another. What pipelining saves is the round trips between them.)
TEST(PgMultiplexPipeline, StatementsOfSessionsAreInFlightTogether) {
  tcp_fault_proxy proxy(server_port());
  const std::string conninfo = delayed(proxy, "mux_pipe_together");
  std::vector<std::vector<std::string>> rows(8);
  balrog::run([&] {
    multiplex_scope on(1);
    std::vector<PGconn*> sessions;
    for (int i = 0; i < 8; ++i) sessions.push_back(compat::PQconnectdb(conninfo.c_str()));
    ASSERT_EQ(one(sessions[0], "select 1"), "1");  // the physical connection is up
    proxy.set_delay(100ms);
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 8; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        rows[i] = first_row(sessions[i], "select " + std::to_string(i) +
                                             ", extract(epoch from statement_timestamp()) * 1000, "
                                             "pg_backend_pid()");
      }));
    }
    for (auto& f : fibers) f.join();
    proxy.set_delay(0ms);
    for (PGconn* c : sessions) compat::PQfinish(c);
  });
  double first = 1e300, last = 0;
  std::set<std::string> pids;
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(rows[i].size(), 3U) << rows[i][0];
    EXPECT_EQ(rows[i][0], std::to_string(i));  // its own result
    const double at = std::stod(rows[i][1]);
    first = std::min(first, at);
    last = std::max(last, at);
    pids.insert(rows[i][2]);
  }
  EXPECT_EQ(pids.size(), 1U);  // one server session carried them all
  EXPECT_LT(last - first, 100.0) << "the statements were read " << last - first
                                 << " ms apart: they took turns";
}

// Statements of ten sessions in one pipeline, every other one failing: each caller gets its
// own result or its own error, the failing sessions stay shared and usable.
TEST(PgMultiplexPipeline, AnErrorFailsOnlyItsOwnStatement) {
  tcp_fault_proxy proxy(server_port());
  const std::string conninfo = delayed(proxy, "mux_pipe_errors");
  std::vector<std::vector<std::string>> got(10);
  std::vector<std::string> messages(10), after(10);
  balrog::run([&] {
    multiplex_scope on(1);
    std::vector<PGconn*> sessions;
    for (int i = 0; i < 10; ++i) sessions.push_back(compat::PQconnectdb(conninfo.c_str()));
    ASSERT_EQ(one(sessions[0], "select 1"), "1");
    proxy.set_delay(30ms);  // so that all ten are sent before the first reply comes
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 10; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        const std::string me = std::to_string(i);
        got[i] = first_row(
            sessions[i], i % 2 == 1 ? "select 1/0, " + me : "select " + me + ", pg_backend_pid()");
        messages[i] = compat::PQerrorMessage(sessions[i]);
        after[i] = one(sessions[i], "select 'again " + me + "'");
      }));
    }
    for (auto& f : fibers) f.join();
    proxy.set_delay(0ms);
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(compat::PQtransactionStatus(sessions[i]), PQTRANS_IDLE);
      EXPECT_EQ(compat::PQbackendPID(sessions[i]), 0);  // still shared
      compat::PQfinish(sessions[i]);
    }
  });
  for (int i = 0; i < 10; ++i) {
    if (i % 2 == 1) {
      EXPECT_EQ(got[i], std::vector<std::string>{"<error: 22012>"});
      EXPECT_NE(messages[i].find("division by zero"), std::string::npos) << messages[i];
    } else {
      ASSERT_EQ(got[i].size(), 2U) << got[i][0];
      EXPECT_EQ(got[i][0], std::to_string(i));
      EXPECT_EQ(messages[i], "");
    }
    EXPECT_EQ(after[i], "again " + std::to_string(i));
  }
}

// Callers that give up while their statements are in the pipeline (a deadline, a fiber
// cancelled) get NULL with their errno; the others in the same pipeline get their own results,
// and the ones that gave up get their own results for their next statements.
TEST(PgMultiplexPipeline, GivingUpMidPipelineLosesNobodyElsesResult) {
  tcp_fault_proxy proxy(server_port());
  const std::string conninfo = delayed(proxy, "mux_pipe_cancel");
  constexpr int n = 12;
  std::vector<std::string> got(n), next(n);
  std::vector<int> errors(n, 0);
  balrog::run([&] {
    multiplex_scope on(1);
    std::vector<PGconn*> sessions;
    for (int i = 0; i < n; ++i) sessions.push_back(compat::PQconnectdb(conninfo.c_str()));
    ASSERT_EQ(one(sessions[0], "select 1"), "1");
    proxy.set_delay(40ms);
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < n; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        const std::string me = std::to_string(i);
        const std::string sql = "select 'r" + me + "' from pg_sleep(0.02)";
        if (i % 3 == 1) {
          // Sent at once, answered after >= 80 ms: the deadline passes while it is in flight.
          balrog::deadline_scope limit(balrog::deadline(30ms));
          errno = 0;
          PGresult* r = compat::PQexec(sessions[i], sql.c_str());
          got[i] = r == nullptr ? "<null>" : PQgetvalue(r, 0, 0);
          errors[i] = errno;
          PQclear(r);
        } else {
          got[i] = one(sessions[i], sql);
          errors[i] = errno;
        }
        next[i] = one(sessions[i], "select 'next " + me + "'");
      }));
    }
    // Session 2 is cancelled while its statement is in flight.
    balrog::this_fiber::sleep_for(20ms);
    fibers[2].cancel();
    for (auto& f : fibers) {
      try {
        f.join();
      } catch (const balrog::cancelled&) {
      }
    }
    proxy.set_delay(0ms);
    next[2] = one(sessions[2], "select 'next 2'");
    for (PGconn* c : sessions) compat::PQfinish(c);
  });
  for (int i = 0; i < n; ++i) {
    const std::string me = std::to_string(i);
    if (i % 3 == 1) {
      EXPECT_EQ(got[i], "<null>") << i;
      EXPECT_EQ(errors[i], ETIMEDOUT) << i;
    } else if (i == 2) {
      EXPECT_NE(got[i], "r2");  // it gave up (NULL, or the fiber ended before it returned)
    } else {
      EXPECT_EQ(got[i], "r" + me) << i;
    }
    EXPECT_EQ(next[i], "next " + me) << i;
  }
}

// A BEGIN while other sessions' statements are in the pipeline of the only physical connection:
// it waits for them to finish, then pins that connection, and no other session's statement
// runs inside its transaction. Server timestamps show the order.
TEST(PgMultiplexPipeline, BeginWaitsForThePipelineToDrain) {
  const std::string app = "mux_pipe_begin";
  PGconn* admin = admin_connection();
  ASSERT_EQ(one(admin, "drop table if exists mux_pipe_begin"), "DROP TABLE");
  ASSERT_EQ(one(admin, "create table mux_pipe_begin (x int)"), "CREATE TABLE");
  struct seen {
    std::string xid, pid;
    double start = 0, end = 0;
  };
  std::vector<seen> shared;
  double tx_begin = 0, tx_end = 0;
  std::string tx_pid, tx_xid;
  int failures = 0;
  balrog::run([&] {
    multiplex_scope on(1);
    PGconn* t = compat::PQconnectdb(info(app).c_str());
    std::vector<PGconn*> sessions;
    for (int i = 0; i < 6; ++i) sessions.push_back(compat::PQconnectdb(info(app).c_str()));
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 6; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        for (int k = 0; k < 4; ++k) {
          auto r = first_row(sessions[i],
                             "select coalesce(txid_current_if_assigned()::text, 'none'), "
                             "pg_backend_pid(), "
                             "extract(epoch from statement_timestamp()) * 1000, "
                             "extract(epoch from clock_timestamp()) * 1000 "
                             "from pg_sleep(0.03)");
          if (r.size() != 4) {
            ++failures;
            continue;
          }
          shared.push_back({r[0], r[1], std::stod(r[2]), std::stod(r[3])});
        }
      }));
    }
    balrog::this_fiber::sleep_for(10ms);  // the pipeline is busy now
    if (one(t, "begin") != "BEGIN") ++failures;
    if (compat::PQtransactionStatus(t) != PQTRANS_INTRANS) ++failures;
    if (one(t, "insert into mux_pipe_begin values (1)") != "INSERT 0 1") ++failures;
    auto r = first_row(t,
                       "select txid_current_if_assigned(), pg_backend_pid(), "
                       "extract(epoch from now()) * 1000");
    if (r.size() == 3) {
      tx_xid = r[0];
      tx_pid = r[1];
      tx_begin = std::stod(r[2]);
    } else {
      ++failures;
    }
    balrog::this_fiber::sleep_for(60ms);  // the others wait: the only connection is pinned
    r = first_row(t, "select extract(epoch from clock_timestamp()) * 1000");
    if (r.size() == 1) tx_end = std::stod(r[0]);
    if (one(t, "commit") != "COMMIT") ++failures;
    if (compat::PQbackendPID(t) != 0) ++failures;  // unpinned again
    for (auto& f : fibers) f.join();
    compat::PQfinish(t);
    for (PGconn* c : sessions) compat::PQfinish(c);
  });
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(shared.size(), 24U);
  ASSERT_NE(tx_xid, "<null>");
  int before = 0, after = 0;
  for (const auto& s : shared) {
    EXPECT_EQ(s.xid, "none");  // never inside the transaction
    EXPECT_EQ(s.pid, tx_pid);  // on the connection the transaction pinned
    // Each ran entirely before the transaction began or after it ended.
    if (s.end <= tx_begin) {
      ++before;
    } else if (s.start >= tx_end) {
      ++after;
    } else {
      ADD_FAILURE() << "a shared statement ran during the transaction: " << s.start << ".." << s.end
                    << " vs " << tx_begin << ".." << tx_end;
    }
  }
  EXPECT_GT(before, 0);  // the BEGIN did wait for statements in flight
  EXPECT_GT(after, 0);
  EXPECT_EQ(one(admin, "select count(*) from mux_pipe_begin"), "1");
  ::PQfinish(admin);
}

// A randomized mix on 2 physical connections through a slightly delayed link: 150 sessions run
// shared statements (some failing, some under short deadlines, some cancelled), transactions
// (committed, rolled back, failed) and now and then a SET that pins for life. Every result
// must be the session's own; afterwards the table holds exactly the committed rows.
// BALROG_TEST_SEED=<n> replays a run.
TEST(PgMultiplexPipeline, RandomizedMixNeverMisdelivers) {
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("BALROG_TEST_SEED"); s != nullptr && *s != '\0') {
    seed = std::strtoull(s, nullptr, 10);
  }
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  PGconn* admin = admin_connection();
  ASSERT_EQ(one(admin, "drop table if exists mux_random"), "DROP TABLE");
  ASSERT_EQ(one(admin, "create table mux_random (token text primary key)"), "CREATE TABLE");
  tcp_fault_proxy proxy(server_port());
  const std::string conninfo = delayed(proxy, "mux_random");
  proxy.set_delay(2ms);
  constexpr int sessions = 150, steps = 12;
  int wrong = 0, results = 0, errors = 0, timeouts = 0, cancels = 0, commits = 0;
  std::string first_wrong;
  std::set<std::string> committed;
  auto bad = [&](const std::string& what) {
    if (wrong++ == 0) first_wrong = what;
  };
  // Sessions that get cancelled at a random moment: from then on their calls fail (NULL), which
  // is not wrong; a result that is not theirs still is.
  auto doomed = [](int i) { return i % 7 == 3; };
  balrog::run([&] {
    multiplex_scope on(2);
    std::vector<balrog::fiber<void>> fibers;
    std::vector<int> cancel_me;
    for (int i = 0; i < sessions; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        std::mt19937_64 rng(seed + static_cast<std::uint64_t>(i));
        PGconn* c = compat::PQconnectdb(conninfo.c_str());
        if (compat::PQstatus(c) != CONNECTION_OK) {
          if (!doomed(i)) bad("connect");
          compat::PQfinish(c);
          return;
        }
        // `got` is what a statement returned where `want` was expected.
        auto expect = [&](const std::string& got, const std::string& want,
                          const std::string& what) {
          if (got == want) return true;
          if (!(doomed(i) && got.rfind("<no result", 0) == 0)) bad(what + ": " + got);
          return false;
        };
        try {
          for (int k = 0; k < steps; ++k) {
            const std::string token = std::to_string(i) + "." + std::to_string(k);
            const int what = static_cast<int>(rng() % 10);
            if (what <= 3) {  // a shared statement with a parameter
              const char* values[] = {token.c_str()};
              PGresult* r = compat::PQexecParams(c, "select $1::text || '!' from pg_sleep(0.001)",
                                                 1, nullptr, values, nullptr, nullptr, 0);
              if (r == nullptr) {
                if (!doomed(i)) bad("params NULL " + token);
              } else if (PQresultStatus(r) != PGRES_TUPLES_OK ||
                         std::string(PQgetvalue(r, 0, 0)) != token + "!") {
                bad("params " + token);
              } else {
                ++results;
              }
              PQclear(r);
            } else if (what == 4) {  // an error
              if (expect(one(c, "select 1/0, '" + token + "'"), "<error: 22012>",
                         "error " + token)) {
                ++errors;
              }
            } else if (what == 5) {  // a deadline that may pass while in flight
              balrog::deadline_scope limit(
                  balrog::deadline(std::chrono::milliseconds(1 + rng() % 8)));
              errno = 0;
              PGresult* r =
                  compat::PQexec(c, ("select '" + token + "' from pg_sleep(0.004)").c_str());
              if (r == nullptr) {
                if (errno != ETIMEDOUT && !doomed(i)) bad("deadline errno " + token);
                ++timeouts;
              } else if (PQresultStatus(r) != PGRES_TUPLES_OK ||
                         std::string(PQgetvalue(r, 0, 0)) != token) {
                bad("deadline " + token);
              } else {
                ++results;
              }
              PQclear(r);
            } else if (what <= 8) {  // a transaction
              const int ending = static_cast<int>(rng() % 3);
              expect(one(c, "begin"), "BEGIN", "begin " + token);
              expect(one(c, "insert into mux_random values ('" + token + "')"), "INSERT 0 1",
                     "insert " + token);
              expect(one(c, "select token from mux_random where token = '" + token + "'"), token,
                     "own write " + token);
              if (ending == 0) {
                if (expect(one(c, "commit"), "COMMIT", "commit " + token)) {
                  committed.insert(token);
                  ++commits;
                }
              } else if (ending == 1) {
                expect(one(c, "rollback"), "ROLLBACK", "rollback " + token);
              } else {
                expect(one(c, "select 1/0"), "<error: 22012>", "tx error " + token);
                expect(one(c, "commit"), "ROLLBACK", "failed commit " + token);
              }
              if (compat::PQtransactionStatus(c) != PQTRANS_IDLE && !doomed(i))
                bad("idle " + token);
            } else if (rng() % 8 == 0) {  // now and then: a session setting, pinned for life
              if (expect(one(c, "set application_name = 'mux_random_" + std::to_string(i) + "'"),
                         "SET", "set " + token) &&
                  compat::PQbackendPID(c) == 0) {
                bad("not pinned " + token);
              }
            } else {
              balrog::this_fiber::sleep_for(std::chrono::milliseconds(rng() % 3));
            }
          }
        } catch (const balrog::cancelled&) {
          // a doomed session's sleep
        }
        compat::PQfinish(c);
      }));
      if (doomed(i)) cancel_me.push_back(i);
    }
    // Cancel a few sessions at random moments.
    std::mt19937_64 rng(seed);
    for (int i : cancel_me) {
      balrog::this_fiber::sleep_for(std::chrono::milliseconds(rng() % 5));
      fibers[static_cast<std::size_t>(i)].cancel();
      ++cancels;
    }
    for (auto& f : fibers) {
      try {
        f.join();
      } catch (const balrog::cancelled&) {
      }
    }
  });
  EXPECT_EQ(wrong, 0) << "first: " << first_wrong << " (seed " << seed << ")";
  EXPECT_GT(results, 0);
  // Every committed row is there; a row of a cancelled session's transaction may be too (its
  // caller did not see the outcome), but none of a rolled-back or failed one.
  for (const auto& t : committed) {
    EXPECT_EQ(one(admin, "select count(*) from mux_random where token = '" + t + "'"), "1") << t;
  }
  const int rows = std::atoi(one(admin, "select count(*) from mux_random").c_str());
  EXPECT_GE(rows, static_cast<int>(committed.size()));
  EXPECT_LE(rows, static_cast<int>(committed.size()) + cancels);
  EXPECT_EQ(lingering_connections(admin, {"mux_random"}), 0);
  std::printf("results %d errors %d timeouts %d commits %d cancels %d\n", results, errors, timeouts,
              commits, cancels);
  ::PQfinish(admin);
}

}  // namespace
