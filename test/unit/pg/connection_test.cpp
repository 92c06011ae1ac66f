// pg::connection against a real server: queries, automatic pipelining, error isolation,
// transactions, LISTEN/NOTIFY, COPY, cancellation and broken connections.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/wait_group.hpp"
#include "balrog/this_fiber.hpp"
#include "support/pg_cluster.hpp"
#include "support/pg_test_support.hpp"

using namespace std::chrono_literals;
namespace pg = balrog::pg;
using balrog::test::pg_cluster;

namespace {

pg::connection connect(pg::connect_options o = {}) {
  return balrog::await(pg::connection::connect(pg_cluster::conninfo(), o));
}

std::string text(const pg::result& r, std::size_t row = 0, std::size_t col = 0) {
  return std::string(r[row][col].raw());
}

pg::param p(std::string v) { return pg::param{0, std::move(v), false}; }

pg::result q(pg::connection& c, std::string sql, std::vector<pg::param> params = {}) {
  return balrog::await(c.query(std::move(sql), std::move(params)));
}

}  // namespace

TEST(PgConnection, ConnectsAndQueries) {
  balrog::run([] {
    auto c = connect();
    EXPECT_TRUE(c.is_open());
    EXPECT_GE(c.server_version(), 150000);
    EXPECT_GT(c.backend_pid(), 0);
    auto r = q(c, "select 1 + 1 as two, 'x' as s");
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r.columns(), 2U);
    EXPECT_EQ(r.column_name(0), "two");
    EXPECT_EQ(text(r), "2");
    EXPECT_EQ(std::string(r[0]["s"].raw()), "x");
    EXPECT_EQ(r.command_tag(), "SELECT 1");
  });
}

TEST(PgConnection, ParametersAndNulls) {
  balrog::run([] {
    auto c = connect();
    auto r = q(c, "select $1::int + 1, $2::text is null", {p("41"), pg::param{}});
    EXPECT_EQ(text(r, 0, 0), "42");
    EXPECT_EQ(text(r, 0, 1), "t");
    auto n = q(c, "select null::int");
    EXPECT_TRUE(n[0][0].is_null());
    // More parameters than send_one keeps on the stack (16), with NULLs among them, three
    // times: sent as text, then prepared by the statement cache and sent again.
    std::string sql = "select concat_ws(',', ";
    std::vector<pg::param> many;
    std::string expected;
    for (int i = 1; i <= 40; ++i) {
      sql += (i > 1 ? ", $" : "$") + std::to_string(i) + "::text";
      if (i % 7 == 0) {
        many.push_back(pg::param{});  // concat_ws skips NULLs
      } else {
        many.push_back(p("v" + std::to_string(i)));
        expected += (expected.empty() ? "v" : ",v") + std::to_string(i);
      }
    }
    sql += ")";
    for (int round = 0; round < 3; ++round) EXPECT_EQ(text(q(c, sql, many)), expected);
  });
}

TEST(PgConnection, ServerErrorsCarrySqlstateAndFields) {
  balrog::run([] {
    auto c = connect();
    try {
      q(c, "select 1/0");
      FAIL();
    } catch (const pg::error& e) {
      EXPECT_EQ(e.sqlstate(), "22012");
      EXPECT_EQ(e.severity(), "ERROR");
      EXPECT_NE(std::string(e.what()).find("division by zero"), std::string::npos);
    }
    try {
      q(c, "selec 1");
      FAIL();
    } catch (const pg::error& e) {
      EXPECT_EQ(e.sqlstate(), "42601");
    }
    // The connection stays usable after errors.
    EXPECT_EQ(text(q(c, "select 3")), "3");
  });
}

TEST(PgConnection, ErrorTypesFollowTheSqlstateClassesAndCarryTheDiagnostics) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script(
        "drop table if exists diag; create table diag(id int primary key, "
        "v int constraint v_positive check (v > 0), n text not null default 'x')"));
    q(c, "insert into diag values (1, 1)");
    try {
      q(c, "insert into diag values (1, 2)");
      FAIL();
    } catch (const pg::unique_violation& e) {
      EXPECT_EQ(e.sqlstate(), "23505");
      EXPECT_EQ(e.constraint(), "diag_pkey");
      EXPECT_EQ(e.table(), "diag");
      EXPECT_EQ(e.schema(), "public");
      EXPECT_NE(e.detail().find("(id)=(1)"), std::string::npos) << e.detail();
    }
    EXPECT_THROW(q(c, "insert into diag values (2, -1)"), pg::check_violation);
    try {
      q(c, "insert into diag values (3, 1, null)");
      FAIL();
    } catch (const pg::integrity_constraint_violation& e) {  // not_null_violation's class
      EXPECT_EQ(e.sqlstate(), "23502");
      EXPECT_EQ(e.column(), "n");
      EXPECT_NE(dynamic_cast<const pg::not_null_violation*>(&e), nullptr);
    }
    try {
      q(c, "select nosuchcolumn from diag");
      FAIL();
    } catch (const pg::undefined_column& e) {
      EXPECT_EQ(e.position(), 8);
    }
    EXPECT_THROW(q(c, "select 1/0"), pg::division_by_zero);
    EXPECT_THROW(q(c, "select 'x'::int"), pg::invalid_text_representation);
    EXPECT_THROW(q(c, "select * from nosuchtable"), pg::undefined_table);
    EXPECT_THROW(q(c, "selec 1"), pg::syntax_error);
    // A condition without a type of its own is thrown as its class's type: 22023
    // (invalid_parameter_value) is a data_exception.
    try {
      q(c, "select repeat('x', 1) from generate_series(1, 1, 0)");
      FAIL();
    } catch (const pg::data_exception& e) {
      EXPECT_EQ(e.sqlstate(), "22023");
    }
    try {
      q(c,
        "do $$ begin raise exception 'custom' using errcode = 'P0001', hint = 'try again'; "
        "end $$");
      FAIL();
    } catch (const pg::raise_exception& e) {
      EXPECT_EQ(e.hint(), "try again");
      EXPECT_NE(e.context().find("PL/pgSQL"), std::string::npos) << e.context();
    }
  });
}

TEST(PgConnection, ConnectFailuresAreConnectionErrors) {
  balrog::run([] {
    EXPECT_THROW(balrog::await(pg::connection::connect("host=127.0.0.1 port=1 connect_timeout=2")),
                 pg::connection_error);
    EXPECT_THROW(
        balrog::await(pg::connection::connect(pg_cluster::conninfo() + " dbname=nosuchdb")),
        pg::connection_error);
    EXPECT_THROW(balrog::await(pg::connection::connect("this is = not a conninfo '")),
                 balrog::usage_error);
  });
}

TEST(PgConnection, ManyFibersShareOneConnectionThroughThePipeline) {
  balrog::run([] {
    auto c = connect();
    constexpr int fibers = 100;
    constexpr int each = 20;
    std::atomic<int> ok{0};
    balrog::wait_group done;
    for (int f = 0; f < fibers; ++f) {
      done.add();
      balrog::spawn([&, f] {
        for (int i = 0; i < each; ++i) {
          const int v = f * 1000 + i;
          auto r = q(c, "select $1::int", {p(std::to_string(v))});
          if (text(r) == std::to_string(v)) ++ok;
        }
        done.done();
      }).detach();
    }
    done.wait();
    EXPECT_EQ(ok, fibers * each);  // every caller got its own answer, in spite of sharing
  });
}

TEST(PgConnection, AnErrorFailsOnlyItsOwnStatement) {
  balrog::run([] {
    auto c = connect();
    std::vector<balrog::fiber<std::string>> fs;
    for (int i = 0; i < 30; ++i) {
      fs.push_back(balrog::spawn([&c, i] {
        try {
          return text(q(c, i % 3 == 0 ? "select 1/0" : "select " + std::to_string(i)));
        } catch (const pg::error& e) {
          return std::string("error ") + e.sqlstate();
        }
      }));
    }
    for (int i = 0; i < 30; ++i) {
      EXPECT_EQ(fs[static_cast<std::size_t>(i)].join(),
                i % 3 == 0 ? std::string("error 22012") : std::to_string(i));
    }
  });
}

TEST(PgConnection, TransactionsCommitRollBackAndAreExclusive) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script("drop table if exists tx_t; create table tx_t(v int)"));
    {
      auto t = balrog::await(c.begin());
      balrog::await(t.query("insert into tx_t values (1)"));
      // Another fiber's statement waits for the transaction: it must not run inside it.
      auto outside = balrog::spawn([&c] { return text(q(c, "select count(*) from tx_t")); });
      balrog::this_fiber::sleep_for(20ms);
      EXPECT_FALSE(outside.done());
      balrog::await(t.commit());
      EXPECT_EQ(outside.join(), "1");
    }
    {
      auto t = balrog::await(c.begin(pg::isolation::serializable));
      balrog::await(t.query("insert into tx_t values (2)"));
      balrog::await(t.rollback());
    }
    {
      auto t = balrog::await(c.begin());
      balrog::await(t.query("insert into tx_t values (3)"));
      // dropped while open: rolled back
    }
    EXPECT_EQ(text(q(c, "select count(*) from tx_t")), "1");
    {
      auto t = balrog::await(c.begin());
      balrog::await(t.savepoint("a"));
      balrog::await(t.query("insert into tx_t values (4)"));
      balrog::await(t.rollback_to("a"));
      balrog::await(t.query("insert into tx_t values (5)"));
      balrog::await(t.commit());
    }
    EXPECT_EQ(text(q(c, "select string_agg(v::text, ',' order by v) from tx_t")), "1,5");
  });
}

TEST(PgConnection, RollbackWhenAnExceptionLeavesTheScope) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script("drop table if exists tx_e; create table tx_e(v int)"));
    try {
      auto t = balrog::await(c.begin());
      balrog::await(t.query("insert into tx_e values (1)"));
      throw std::runtime_error("oops");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(text(q(c, "select count(*) from tx_e")), "0");
  });
}

TEST(PgConnection, ListenNotify) {
  balrog::run([] {
    auto listener = connect();
    auto sender = connect();
    balrog::await(listener.listen("balrog chan"));
    EXPECT_FALSE(balrog::await(listener.wait_notification(20ms)).has_value());  // nothing yet
    auto waiter = balrog::spawn([&] { return balrog::await(listener.wait_notification(5s)); });
    balrog::this_fiber::sleep_for(10ms);
    balrog::await(sender.notify("balrog chan", "hello"));
    auto n = waiter.join();
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->channel, "balrog chan");
    EXPECT_EQ(n->payload, "hello");
    EXPECT_EQ(n->backend_pid, sender.backend_pid());
    // A notification that arrives while the listener runs queries is kept for it.
    balrog::await(sender.notify("balrog chan", "later"));
    balrog::this_fiber::sleep_for(10ms);
    q(listener, "select 1");
    auto m = balrog::await(listener.wait_notification(1s));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->payload, "later");
  });
}

TEST(PgConnection, CopyInAndOutStreamed) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script("drop table if exists cp; create table cp(id int, name text)"));
    {
      auto w = balrog::await(c.copy_in("copy cp from stdin"));
      for (int i = 0; i < 1000; ++i)
        balrog::await(w.write(std::to_string(i) + "\tn" + std::to_string(i) + "\n"));
      EXPECT_EQ(balrog::await(w.finish()), 1000U);
    }
    {
      auto w = balrog::await(c.copy_in("copy cp from stdin"));
      balrog::await(w.write("1\tok\nnot-a-number\tbad\n"));
      EXPECT_THROW(balrog::await(w.finish()), pg::error);  // the bad row fails the COPY
    }
    EXPECT_EQ(text(q(c, "select count(*) from cp")), "1000");
    {
      auto r = balrog::await(c.copy_out("copy (select id from cp order by id limit 3) to stdout"));
      std::vector<std::string> rows;
      while (auto row = balrog::await(r.next())) rows.push_back(*row);
      EXPECT_EQ(rows, (std::vector<std::string>{"0\n", "1\n", "2\n"}));
    }
    EXPECT_EQ(text(q(c, "select 5")), "5");  // back to normal afterwards
    // Not a COPY of the asked direction: a usage error, and the connection is given back.
    EXPECT_THROW(balrog::await(c.copy_in("select 1")), balrog::usage_error);
    // A COPY of the other direction has started on the server; it is ended before the next use.
    EXPECT_THROW(balrog::await(c.copy_out("copy cp from stdin")), balrog::usage_error);
    EXPECT_EQ(text(q(c, "select count(*) from cp")), "1000");
    EXPECT_THROW(balrog::await(c.copy_in("copy cp to stdout")), balrog::usage_error);
    EXPECT_EQ(text(q(c, "select 6")), "6");
  });
}

TEST(PgConnection, StatementTimeoutAndCancel) {
  balrog::run([] {
    auto c = connect();
    q(c, "set statement_timeout = '50ms'");
    EXPECT_THROW(q(c, "select pg_sleep(5)"), pg::query_cancelled);
    q(c, "set statement_timeout = 0");
    auto slow = balrog::spawn([&c] { q(c, "select pg_sleep(5)"); });
    // Cancel once it runs: a cancel that reaches the server first is ignored.
    auto watcher = connect();
    const std::string running =
        "select count(*) from pg_stat_activity where pid = " + std::to_string(c.backend_pid()) +
        " and state = 'active' and query like 'select pg_sleep%'";
    for (int i = 0; i < 500 && text(q(watcher, running)) != "1"; ++i) {
    }
    balrog::await(c.cancel());
    EXPECT_THROW(slow.join(), pg::query_cancelled);
    EXPECT_EQ(text(q(c, "select 1")), "1");
  });
}

TEST(PgConnection, CancellingAWaitingFiberCancelsItsStatement) {
  balrog::run([] {
    auto c = connect();
    const auto start = balrog::clock::now();
    auto f = balrog::spawn([&c] { q(c, "select pg_sleep(10)"); });
    balrog::this_fiber::sleep_for(50ms);
    f.cancel();
    EXPECT_THROW(f.join(), balrog::cancelled);
    // The server was asked to cancel: the next statement does not wait 10 s behind it.
    EXPECT_EQ(text(q(c, "select 2")), "2");
    EXPECT_LT(balrog::clock::now() - start, 5s);
  });
}

TEST(PgConnection, ADeadlineScopeBoundsAQuery) {
  balrog::run([] {
    auto c = connect();
    const auto start = std::chrono::steady_clock::now();
    {
      balrog::deadline_scope scope(50ms);
      EXPECT_THROW(q(c, "select pg_sleep(10)"), balrog::timeout_error);
    }
    EXPECT_EQ(text(q(c, "select 3")), "3");
    // The statement was stopped on the server, not waited for behind the next one.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  });
}

TEST(PgConnection, ServerKilledMidQueryGivesConnectionErrors) {
  balrog::run([] {
    auto victim = connect();
    auto killer = connect();
    const std::string pid = std::to_string(victim.backend_pid());
    auto f = balrog::spawn([&victim] { q(victim, "select pg_sleep(10)"); });
    balrog::this_fiber::sleep_for(50ms);
    q(killer, "select pg_terminate_backend($1::int)", {p(pid)});
    EXPECT_THROW(f.join(), pg::connection_error);
    EXPECT_THROW(q(victim, "select 1"), pg::connection_error);
    EXPECT_FALSE(victim.is_open());
  });
}

TEST(PgConnection, DeadlockIsATransactionRollback) {
  balrog::run([] {
    auto a = connect();
    auto b = connect();
    balrog::await(
        a.execute_script("drop table if exists dl; create table dl(id int primary key, v int); "
                         "insert into dl values (1,0),(2,0)"));
    auto ta = balrog::await(a.begin());
    auto tb = balrog::await(b.begin());
    balrog::await(ta.query("update dl set v = 1 where id = 1"));
    balrog::await(tb.query("update dl set v = 1 where id = 2"));
    auto fa = balrog::spawn([&] { balrog::await(ta.query("update dl set v = 2 where id = 2")); });
    auto fb = balrog::spawn([&] { balrog::await(tb.query("update dl set v = 2 where id = 1")); });
    int deadlocks = 0;
    for (auto* f : {&fa, &fb}) {
      try {
        f->join();
      } catch (const pg::deadlock_detected& e) {
        EXPECT_EQ(e.sqlstate(), "40P01");
        EXPECT_NE(dynamic_cast<const pg::transaction_rollback*>(&e), nullptr);
        ++deadlocks;
      }
    }
    EXPECT_EQ(deadlocks, 1);
  });
}

TEST(PgConnection, UsingAConnectionFromAnotherShardIsAUsageError) {
  pg::connection c;
  balrog::run([&] { c = connect(); });
  // Another thread (another shard) may not touch it; its own thread may, with a new run().
  std::thread([&] {
    balrog::run([&] { EXPECT_THROW(q(c, "select 1"), balrog::usage_error); });
  }).join();
  balrog::run([&] { EXPECT_EQ(text(q(c, "select 1")), "1"); });
}

TEST(PgConnection, TlsThroughSslmode) {
  balrog::run([] {
    pg::connect_options o;
    auto c =
        balrog::await(pg::connection::connect(pg_cluster::tcp_conninfo() + " sslmode=require", o));
    EXPECT_EQ(text(q(c, "select ssl from pg_stat_ssl where pid = pg_backend_pid()")), "t");
    EXPECT_EQ(text(q(c, "select $1::text", {p("over tls")})), "over tls");
    // verify-full needs a root certificate we do not have: a typed error, not a plain socket.
    EXPECT_THROW(balrog::await(pg::connection::connect(
                     pg_cluster::tcp_conninfo() + " sslmode=verify-full sslrootcert=/nonexistent")),
                 pg::connection_error);
  });
}

// Results far larger than one TLS record, pipelined from several fibers and streamed by COPY:
// input OpenSSL already decrypted must not be waited for on the socket (it never shows there).
TEST(PgConnection, LargeResultsAndCopyOverTls) {
  balrog::run([] {
    auto c =
        balrog::await(pg::connection::connect(pg_cluster::tcp_conninfo() + " sslmode=require"));
    std::vector<balrog::fiber<void>> fibers;
    std::atomic<int> ok{0};
    for (int f = 0; f < 4; ++f) {
      fibers.push_back(balrog::spawn([&c, &ok, f] {
        for (int round = 0; round < 3; ++round) {
          auto r = q(c, "select repeat('x', 50000 + g + $1::int) from generate_series(1, 40) g",
                     {p(std::to_string(f))});
          if (r.size() == 40 && text(r, 39).size() == 50040U + static_cast<unsigned>(f)) ++ok;
        }
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_EQ(ok, 12);
    for (int size = 1000; size < 300000; size += 3371) {
      EXPECT_EQ(text(q(c, "select repeat('z', $1::int)", {p(std::to_string(size))})).size(),
                static_cast<std::size_t>(size));
    }
    auto out = balrog::await(
        c.copy_out("copy (select repeat('y', 70000) from generate_series(1, 30)) to stdout"));
    int rows = 0;
    while (auto row = balrog::await(out.next())) rows += row->size() == 70001U ? 1 : 0;
    EXPECT_EQ(rows, 30);
    EXPECT_EQ(text(q(c, "select 7")), "7");
  });
}

TEST(PgConnection, TakingTurnsWithoutThePipelineServesEveryone) {
  // pipeline = false: one statement in flight at a time. The statement cache's prepare on a
  // text's second use is one more turn before the caller's own statement (a hang, once).
  balrog::run([] {
    auto c = connect({.pipeline = false});
    std::atomic<int> ok{0};
    std::vector<balrog::fiber<void>> fibers;
    for (int f = 0; f < 20; ++f) {
      fibers.push_back(balrog::spawn([&, f] {
        for (int i = 0; i < 10; ++i) {
          auto r = q(c, "select $1::int + 1", {p(std::to_string(f * 100 + i))});
          if (text(r) == std::to_string(f * 100 + i + 1)) ++ok;
        }
      }));
    }
    for (auto& fib : fibers) fib.join();
    EXPECT_EQ(ok.load(), 200);
  });
}

// C13: connect_timeout in the conninfo applies per host, as in libpq: against a server that
// never answers it fails in about that time...
TEST(PgConnection, ConnectTimeoutInTheConninfoIsHonoured) {
  balrog::run([] {
    balrog::test::tcp_fault_proxy silent(balrog::test::pg_support::server_port());
    silent.blackhole(true);
    balrog::deadline_scope backstop(10s);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(balrog::await(pg::connection::connect(
                     balrog::test::pg_support::through(silent) + " connect_timeout=1",
                     {.timeout = std::chrono::milliseconds(0)})),
                 pg::connection_error);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  });
}

// ... and a multi-host conninfo whose first host never answers moves on to the next one.
TEST(PgConnection, AMultiHostConninfoFailsOverPastASilentHost) {
  balrog::run([] {
    balrog::test::tcp_fault_proxy silent(balrog::test::pg_support::server_port());
    silent.blackhole(true);
    balrog::deadline_scope backstop(10s);
    auto c = balrog::await(pg::connection::connect(
        "host=127.0.0.1,127.0.0.1 port=" + std::to_string(silent.port()) + "," +
        pg_cluster::port() + " user=postgres dbname=postgres connect_timeout=1"));
    EXPECT_EQ(text(q(c, "select 1")), "1");
    EXPECT_EQ(std::string(PQport(c.native_handle())), pg_cluster::port());
  });
}

// The caller's deadline travels to the server as the statement's statement_timeout: the server
// stops the statement by itself (no cancel request needed), even where the session has a longer
// statement_timeout of its own, and the session's value is untouched afterwards.
TEST(PgConnection, ADeadlineTravelsToTheServerAsStatementTimeout) {
  balrog::run([] {
    auto c = connect();
    q(c, "set statement_timeout = '10s'");
    const auto start = std::chrono::steady_clock::now();
    {
      balrog::deadline_scope bound(200ms);
      EXPECT_THROW(q(c, "select pg_sleep(3)"), balrog::timeout_error);
    }
    EXPECT_EQ(text(q(c, "select 1")), "1");  // the sleep was stopped, not waited for
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(text(q(c, "show statement_timeout")), "10s");
    // Inside a transaction the session's value comes back after the statement.
    {
      auto t = balrog::await(c.begin());
      {
        balrog::deadline_scope bound(5s);
        EXPECT_EQ(text(balrog::await(t.query("select 2"))), "2");
      }
      EXPECT_EQ(text(balrog::await(t.query("show statement_timeout"))), "10s");
      {
        balrog::deadline_scope bound(200ms);
        EXPECT_THROW(balrog::await(t.query("select pg_sleep(3)")), balrog::timeout_error);
      }
      balrog::await(t.rollback());
    }
    EXPECT_EQ(text(q(c, "show statement_timeout")), "10s");
    // A session timeout shorter than the deadline is the server's own: query_cancelled.
    q(c, "set statement_timeout = '100ms'");
    {
      balrog::deadline_scope bound(5s);
      EXPECT_THROW(q(c, "select pg_sleep(2)"), pg::query_cancelled);
      // Utility statements are left alone (they refuse to run in a pipeline segment).
      EXPECT_NO_THROW(q(c, "vacuum pg_class"));
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  });
}
