// The automatic statement cache (review C6): what it prepares and evicts, a schema change that
// invalidates a cached plan (0A000), a PREPARE that fails, and DEALLOCATE ALL / DISCARD ALL
// issued by the application.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/run.hpp"
#include "support/pg_test_support.hpp"

namespace pg = balrog::pg;
using namespace balrog::test::pg_support;

namespace {

pg::param p(std::string v) { return pg::param{0, std::move(v), false}; }

// The statements prepared on this connection, as "text:executions", sorted by text.
std::string prepared(pg::connection& c) {
  return text(q(c,
                "select coalesce(string_agg(statement || ':' || (generic_plans + custom_plans), "
                "' | ' order by statement), '') from pg_prepared_statements"));
}

}  // namespace

// Cached executions run the prepared statement, and eviction deallocates the least recently
// used one (the review found the old test unable to tell).
TEST(PgStatementCache, PreparesOnTheSecondUseAndEvictsTheLeastRecentlyUsed) {
  balrog::run([] {
    auto c = connect({.statement_cache = 2});
    for (int i = 0; i < 4; ++i) q(c, "select $1::int as a", {p("1")});
    q(c, "select $1::int as b", {p("1")});
    q(c, "select $1::int as b", {p("1")});
    // Prepared on the second use: 3 of 4 executions of a, 1 of 2 of b ran prepared.
    EXPECT_EQ(prepared(c), "select $1::int as a:3 | select $1::int as b:1");
    q(c, "select $1::int as a", {p("1")});  // a is now the most recently used
    q(c, "select $1::int as c", {p("1")});
    q(c, "select $1::int as c", {p("1")});  // prepared: b, the least recently used, goes
    EXPECT_EQ(prepared(c), "select $1::int as a:4 | select $1::int as c:1");
  });
}

// C6 (a): after ALTER TABLE, a cached `select *` fails with 0A000 ("cached plan must not
// return a different result type") on every connection that cached it. Outside a transaction
// the driver prepares it again and retries, once.
TEST(PgStatementCache, ASchemaChangeThatInvalidatesACachedPlanIsRetried) {
  balrog::run([] {
    auto c = connect();
    balrog::await(
        c.execute_script("drop table if exists c6a; create table c6a(a int);"
                         "insert into c6a values (1)"));
    for (int i = 0; i < 2; ++i) q(c, "select * from c6a where a = $1::int", {p("1")});
    balrog::await(c.execute_script("alter table c6a add column b int default 5"));
    pg::result r;
    EXPECT_NO_THROW(r = q(c, "select * from c6a where a = $1::int", {p("1")}));
    ASSERT_EQ(r.columns(), 2U);
    EXPECT_EQ(text(r, 0, 1), "5");
    // Still cached (prepared again), not turned off.
    EXPECT_NE(prepared(c).find("from c6a"), std::string::npos);
  });
}

// C6 (b): a PREPARE that fails (the table does not exist yet) must not leave the text mapped to
// a statement that does not exist; inside a transaction the driver's mistake would abort it.
TEST(PgStatementCache, AFailedPrepareLeavesNoStaleEntry) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script("drop table if exists c6b"));
    const std::string sql = "select v from c6b where v = $1::int";
    for (int i = 0; i < 2; ++i) EXPECT_THROW(q(c, sql, {p("1")}), pg::undefined_table);
    balrog::await(c.execute_script("create table c6b(v int); insert into c6b values (1)"));
    auto t = balrog::await(c.begin());
    pg::result r;
    EXPECT_NO_THROW(r = balrog::await(t.query(sql, {p("1")})));
    EXPECT_EQ(r.size(), 1U);
    balrog::await(t.commit());
    // The cache is still on: a new text is prepared on its second use.
    q(c, "select $1::int + 100", {p("1")});
    q(c, "select $1::int + 100", {p("1")});
    EXPECT_NE(prepared(c).find("+ 100"), std::string::npos);
  });
}

// C6 (c): the application's DEALLOCATE ALL / DISCARD ALL drop the server's statements; the cache
// must be cleared, not turned off for the connection's life.
TEST(PgStatementCache, DeallocateAllAndDiscardAllClearTheCache) {
  balrog::run([] {
    auto c = connect();
    for (const char* reset : {"deallocate all", "discard all"}) {
      for (int i = 0; i < 3; ++i) q(c, "select $1::int + 1", {p("1")});
      EXPECT_NE(prepared(c), "");
      q(c, reset);
      EXPECT_EQ(prepared(c), "");
      EXPECT_EQ(text(q(c, "select $1::int + 1", {p("1")})), "2");
      EXPECT_EQ(text(q(c, "select $1::int + 1", {p("1")})), "2");
      EXPECT_NE(prepared(c), "") << "after " << reset << " the cache was turned off";
    }
  });
}
