// pg::connection and pg::pool behind PgBouncer (started by the harness) in session and
// transaction pooling modes. In transaction mode the server behind a client connection changes
// between transactions, so server-side prepared statements do not survive: the statement cache
// must be off (by option) or switch itself off (detection), and results must stay correct.
#include <gtest/gtest.h>

#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/pool.hpp"
#include "balrog/run.hpp"
#include "support/pg_cluster.hpp"

extern char** environ;

using namespace std::chrono_literals;
namespace pg = balrog::pg;
using balrog::test::pg_cluster;

namespace {

// With BALROG_TEST_PG_CONNINFO set there is no cluster of ours to put PgBouncer in front of.
constexpr const char* no_bouncer = "BALROG_TEST_PG_CONNINFO is set: no PgBouncer to start";

std::string text(const pg::result& r) { return std::string(r[0][0].raw()); }

// Repeated parameterized statements (prepared by the cache on their second use), a
// transaction, and concurrent fibers on several client connections.
void exercise(pg::pool& p, bool transactions = true) {
  std::vector<balrog::fiber<void>> fibers;
  int ok = 0;
  for (int i = 0; i < 40; ++i) {
    fibers.push_back(balrog::spawn([&, i] {
      for (int k = 0; k < 5; ++k) {
        auto r = balrog::await(p.query("select $1::int + $2::int", i, k));
        if (text(r) == std::to_string(i + k)) ++ok;
      }
      if (!transactions) {
        ++ok;
        return;
      }
      auto c = balrog::await(p.acquire());
      auto t = balrog::await(c->begin());
      auto r = balrog::await(t.query("select $1::int * 3", i));
      balrog::await(t.commit());
      if (text(r) == std::to_string(i * 3)) ++ok;
    }));
  }
  for (auto& f : fibers) f.join();
  EXPECT_EQ(ok, 40 * 6);
}

}  // namespace

TEST(PgBouncer, SessionModeKeepsTheStatementCache) {
  const std::string info = pg_cluster::pgbouncer_conninfo("session");
  if (info.empty()) GTEST_SKIP() << no_bouncer;
  balrog::run([&] {
    auto p = balrog::await(pg::pool::create(info, {.max_size = 4}));
    exercise(p);
  });
}

TEST(PgBouncer, TransactionModeWithTheCacheOff) {
  const std::string info = pg_cluster::pgbouncer_conninfo("transaction");
  if (info.empty()) GTEST_SKIP() << no_bouncer;
  balrog::run([&] {
    pg::pool_options o{.max_size = 8};
    o.connect.statement_cache = 0;
    auto p = balrog::await(pg::pool::create(info, o));
    exercise(p);
  });
}

TEST(PgBouncer, TransactionModeDetectsLostPreparedStatements) {
  // The cache is on: statements prepared on one server connection are missing (26000) or
  // already there (42P05) on the next. The connection notices, turns its cache off and re-runs
  // the statement unprepared; callers never see those errors. (Inside a transaction the retry
  // is impossible — the transaction is aborted — which is why docs/pg.md says to set
  // statement_cache = 0 behind a transaction-mode pooler; this test stays outside them.)
  const std::string info = pg_cluster::pgbouncer_conninfo("transaction");
  if (info.empty()) GTEST_SKIP() << no_bouncer;
  balrog::run([&] {
    auto p = balrog::await(pg::pool::create(info, {.max_size = 8}));
    exercise(p, false);
  });
}

// C6 (d): two client processes, each with its own statements, through one transaction-mode
// PgBouncer with the statement cache on. Their client connections share server connections, so
// a statement named by one may be found by the other: a name must only ever mean one text, or
// one process runs the other's statement with its own parameters.
TEST(PgBouncer, TwoProcessesNeverRunEachOthersStatements) {
  const std::string info = pg_cluster::pgbouncer_conninfo("transaction");
  if (info.empty()) GTEST_SKIP() << no_bouncer;
  balrog::run([] {
    auto c = balrog::await(pg::connection::connect(pg_cluster::conninfo()));
    balrog::await(
        c.execute_script("drop table if exists c6d; create table c6d(role int, k int, v int)"));
  });
  std::vector<pid_t> children;
  for (const char* role : {"0", "1"}) {
    std::vector<std::string> args{BALROG_PG_STATEMENT_CLIENT, info, role, "200"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "a client got another client's statement (see its stderr above)";
  }
  balrog::run([] {
    auto c = balrog::await(pg::connection::connect(pg_cluster::conninfo()));
    // Each row's value is in the range of the process that named the statement it ran.
    EXPECT_EQ(
        text(balrog::await(c.query("select count(*) from c6d where (v >= 1000000) <> (role = 1)"))),
        "0");
    EXPECT_EQ(text(balrog::await(c.query("select count(*) from c6d"))),
              std::to_string(2 * 8 * 200));
  });
}
