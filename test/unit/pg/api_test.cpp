// The API people reach for: query_one / query_opt / execute, rows into structs and tuples,
// streaming row by row, COPY inside a transaction, the retry helper for serialization
// failures and deadlocks, the notice receiver, and the pool's configure / reset hooks.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/pg/generated/blocking.hpp"
#include "balrog/pg/pool.hpp"
#include "balrog/pg/retry.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/this_fiber.hpp"
#include "support/pg_test_support.hpp"

using namespace std::chrono_literals;
namespace pg = balrog::pg;
using namespace balrog::test::pg_support;
using balrog::test::pg_cluster;

namespace {

struct person {
  std::int64_t id = 0;
  std::string name;
  std::optional<std::chrono::year_month_day> born;
};

void people(pg::connection& c) {
  balrog::await(c.execute_script(
      "drop table if exists person; create table person(id int8 primary key, name text not "
      "null, born date); insert into person values (1, 'ada', '1815-12-10'), (2, 'alan', null)"));
}

}  // namespace

TEST(PgApi, QueryOneQueryOptAndExecute) {
  balrog::run([] {
    auto c = connect();
    people(c);
    auto one = balrog::await(c.query_one("select name from person where id = $1", 1));
    EXPECT_EQ(one.one<std::string>(), "ada");
    EXPECT_THROW(balrog::await(c.query_one("select name from person where id = $1", 9)),
                 pg::unexpected_rows);
    try {
      balrog::await(c.query_one("select name from person"));
      FAIL();
    } catch (const pg::unexpected_rows& e) {
      EXPECT_EQ(e.sqlstate(), "21000");
    }
    EXPECT_TRUE(balrog::await(c.query_opt("select 1 from person where id = 9")).empty());
    EXPECT_EQ(balrog::await(c.query_opt("select name from person where id = 2")).size(), 1U);
    EXPECT_EQ(balrog::await(c.execute("update person set name = name || '!' where id > $1", 0)),
              2U);
    EXPECT_EQ(balrog::await(c.execute("delete from person where id = $1", 9)), 0U);
    // The same in a transaction, and blocking-style.
    auto t = balrog::await(c.begin());
    EXPECT_EQ(balrog::await(t.execute("insert into person values (3, 'grace', null)")), 1U);
    EXPECT_EQ(balrog::await(t.query_one("select count(*) from person")).one<std::int64_t>(), 3);
    balrog::await(t.rollback());
    EXPECT_EQ(pg::blocking::execute(c, "update person set born = null"), 2U);
  });
}

TEST(PgApi, RowsIntoStructsTuplesAndValues) {
  balrog::run([] {
    auto c = connect();
    people(c);
    auto r = q(c, "select id, name, born from person order by id");
    const std::vector<person> all = r.all<person>();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0].name, "ada");
    EXPECT_EQ(all[0].born,
              std::chrono::year_month_day(std::chrono::year(1815) / std::chrono::December / 10));
    EXPECT_FALSE(all[1].born.has_value());
    const auto [id, name, born] =
        r[1].to<std::tuple<int, std::string, std::optional<std::string>>>();
    EXPECT_EQ(id, 2);
    EXPECT_EQ(name, "alan");
    EXPECT_FALSE(born);
    EXPECT_EQ(q(c, "select name from person where id = 2").one<std::string>(), "alan");
    EXPECT_FALSE(q(c, "select name from person where id = 7").opt<std::string>().has_value());
    EXPECT_THROW((void)r.one<person>(), pg::unexpected_rows);
    EXPECT_THROW((void)q(c, "select id, name from person where id = 1").one<person>(),
                 balrog::usage_error);  // two columns for three fields
    // A struct with a value_codec of its own (pg::uuid) is one value, not a row.
    EXPECT_EQ(q(c, "select '00000000-0000-0000-0000-000000000001'::uuid").one<pg::uuid>().bytes[15],
              1);
  });
}

TEST(PgApi, StreamingReadsALargeResultRowByRow) {
  balrog::run([] {
    auto c = connect();
    {
      auto rows = balrog::await(
          c.stream("select g, repeat('x', 100) from generate_series(1, $1::int) g", 20000));
      std::int64_t n = 0;
      std::int64_t sum = 0;
      while (auto row = balrog::await(rows.next())) {
        ++n;
        sum += row->get<std::int64_t>(0);
      }
      EXPECT_EQ(n, 20000);
      EXPECT_EQ(sum, 20000LL * 20001 / 2);
    }
    EXPECT_EQ(text(q(c, "select 'after'")), "after");
    // An error half-way: the rows before it, then the error.
    {
      auto rows = balrog::await(c.stream("select 10 / (5 - g) from generate_series(1, 10) g"));
      int got = 0;
      EXPECT_THROW(
          {
            while (balrog::await(rows.next())) ++got;
          },
          pg::division_by_zero);
      EXPECT_EQ(got, 4);
    }
    // Dropped early: the server stops, and the connection serves the next statement at once.
    const auto start = std::chrono::steady_clock::now();
    {
      auto rows = balrog::await(
          c.stream("select a * b from generate_series(1, 10000) a, generate_series(1, 5000) b"));
      for (int i = 0; i < 10; ++i) balrog::await(rows.next());
    }
    EXPECT_EQ(text(q(c, "select 'next'")), "next");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    // Other fibers wait for the stream; in a transaction the stream is the transaction's.
    auto t = balrog::await(c.begin());
    balrog::await(t.execute("create temporary table s(v int)"));
    balrog::await(t.execute("insert into s select generate_series(1, 3)"));
    auto rows = balrog::await(t.stream("select v from s order by v"));
    std::vector<int> seen;
    while (auto row = balrog::await(rows.next())) seen.push_back(row->get<int>(0));
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
    balrog::await(t.commit());
  });
}

// COPY inside a transaction: the ETL pattern (BEGIN; COPY into staging; INSERT ... SELECT;
// COMMIT); a rollback takes the copied rows with it.
TEST(PgApi, CopyInsideATransaction) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script(
        "drop table if exists staging, target; create table staging(v int); create table "
        "target(v int)"));
    {
      auto t = balrog::await(c.begin());
      auto w = balrog::await(t.copy_in("copy staging from stdin"));
      for (int i = 1; i <= 100; ++i) balrog::await(w.write(std::to_string(i) + "\n"));
      EXPECT_EQ(balrog::await(w.finish()), 100U);
      EXPECT_EQ(balrog::await(t.execute("insert into target select v * 2 from staging")), 100U);
      auto out = balrog::await(t.copy_out("copy (select count(*) from target) to stdout"));
      EXPECT_EQ(balrog::await(out.next()), std::optional<std::string>("100\n"));
      EXPECT_FALSE(balrog::await(out.next()).has_value());
      balrog::await(t.execute_script("delete from staging; analyze target"));
      balrog::await(t.commit());
    }
    EXPECT_EQ(outside("select sum(v) from target"), "10100");
    {
      auto t = balrog::await(c.begin());
      auto w = balrog::await(t.copy_in("copy staging from stdin"));
      balrog::await(w.write("1\n2\n"));
      balrog::await(w.finish());
      balrog::await(t.rollback());
    }
    EXPECT_EQ(outside("select count(*) from staging"), "0");
  });
}

// Two serializable transactions that read and write the same rows: one of them fails with
// 40001; transact runs it again and both end up committed.
TEST(PgApi, TransactRetriesSerializationFailures) {
  balrog::run([] {
    auto setup = connect();
    balrog::await(setup.execute_script(
        "drop table if exists ledger; create table ledger(k int primary key, v int); insert "
        "into ledger values (1, 0), (2, 0)"));
    auto a = connect();
    auto b = connect();
    std::atomic<int> attempts{0};
    // Each reads both rows, waits for the other to read too, then writes one: a write skew
    // that serializable isolation refuses.
    balrog::event both_read;
    std::atomic<int> readers{0};
    auto body = [&](int k) {
      return [&, k](pg::transaction& t) -> balrog::task<int> {
        ++attempts;
        auto r = co_await t.query("select sum(v) from ledger");
        if (++readers == 2) both_read.set();
        co_await balrog::on_fiber([&] { both_read.wait(); });
        co_await t.execute("update ledger set v = v + 1 where k = $1", k);
        co_return r.scalar<int>();
      };
    };
    auto fa = balrog::spawn([&] { return balrog::await(pg::transact(a, body(1))); });
    auto fb = balrog::spawn([&] { return balrog::await(pg::transact(b, body(2))); });
    fa.join();
    fb.join();
    EXPECT_GE(attempts, 3);  // one of them ran again
    EXPECT_EQ(outside("select sum(v) from ledger"), "2");
    // Other errors are not retried.
    attempts = 0;
    EXPECT_THROW(balrog::await(pg::transact(a,
                                            [&](pg::transaction& t) -> balrog::task<void> {
                                              ++attempts;
                                              co_await t.query("select 1/0");
                                            })),
                 pg::division_by_zero);
    EXPECT_EQ(attempts, 1);
    // The pool form: a connection for each attempt.
    auto p = balrog::await(pg::pool::create(pg_cluster::conninfo(), {.max_size = 1}));
    EXPECT_EQ(balrog::await(pg::transact(p,
                                         [](pg::transaction& t) -> balrog::task<int> {
                                           auto r = co_await t.query_one("select 5");
                                           co_return r.one<int>();
                                         })),
              5);
  });
  // Blocking style, on a plain thread.
  auto c = pg::blocking::connect(pg_cluster::conninfo());
  const int sum = pg::blocking::transact(c, [](pg::transaction& t) {
    return pg::blocking::query(t, "select sum(v)::int from ledger").scalar<int>();
  });
  EXPECT_EQ(sum, 2);
}

TEST(PgApi, NoticesGoToTheReceiver) {
  balrog::run([] {
    std::vector<pg::notice> seen;
    pg::connect_options o;
    o.on_notice = [&](const pg::notice& n) { seen.push_back(n); };
    auto c = balrog::await(pg::connection::connect(pg_cluster::conninfo(), o));
    q(c, "do $$ begin raise notice 'hello %', 42 using hint = 'wave back'; end $$");
    balrog::await(c.execute_script("begin; begin; rollback"));  // WARNING 25001
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0].severity, "NOTICE");
    EXPECT_EQ(seen[0].message, "hello 42");
    EXPECT_EQ(seen[0].hint, "wave back");
    EXPECT_EQ(seen[1].severity, "WARNING");
    EXPECT_EQ(seen[1].sqlstate, "25001");
  });
}

TEST(PgApi, PoolConfigureAndResetHooks) {
  balrog::run([] {
    int configured = 0;
    int resets = 0;
    pg::pool_options o{.max_size = 1};
    o.configure = [&](pg::connection& c) -> balrog::task<void> {
      ++configured;
      co_await c.execute("set application_name = 'configured'");
    };
    o.reset = [&](pg::connection& c) -> balrog::task<void> {
      ++resets;
      co_await c.execute("reset search_path");
    };
    auto p = balrog::await(pg::pool::create(pg_cluster::conninfo(), o));
    {
      auto c = balrog::await(p.acquire());
      EXPECT_EQ(text(q(*c, "show application_name")), "configured");
      q(*c, "set search_path = nowhere");
    }
    {
      auto c = balrog::await(p.acquire());
      EXPECT_EQ(text(q(*c, "show search_path")), "\"$user\", public");
      EXPECT_EQ(text(q(*c, "show application_name")), "configured");
    }
    EXPECT_EQ(configured, 1);
    EXPECT_EQ(resets, 1);
    EXPECT_EQ(balrog::await(p.execute("select 1")), 1U);
  });
}
