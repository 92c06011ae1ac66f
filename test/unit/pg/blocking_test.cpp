// The generated blocking-style API (balrog/pg/generated/blocking.hpp) on fibers, where other
// fibers run while a query waits, and on a plain thread with no runtime (sync mode).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "balrog/pg/generated/blocking.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/pg_cluster.hpp"

using namespace std::chrono_literals;
namespace pg = balrog::pg;
namespace blocking = balrog::pg::blocking;
using balrog::test::pg_cluster;

TEST(PgBlocking, WorksOnAPlainThreadWithoutARuntime) {
  auto conn = blocking::connect(pg_cluster::conninfo());
  EXPECT_EQ(blocking::query(conn, "select $1::int + 1", 41).scalar<int>(), 42);
  auto t = blocking::begin(conn);
  blocking::query(t, "create temporary table b(v int)");
  blocking::query(t, "insert into b values ($1)", 7);
  EXPECT_EQ(blocking::query(t, "select sum(v) from b").scalar<std::int64_t>(), 7);
  blocking::rollback(t);
  auto p = blocking::create(pg_cluster::conninfo(), {.max_size = 2});
  EXPECT_EQ(blocking::query(p, "select 'pooled'").scalar<std::string>(), "pooled");
}

TEST(PgBlocking, OnFibersOtherFibersRunWhileAQueryWaits) {
  balrog::run([] {
    auto conn = blocking::connect(pg_cluster::conninfo());
    int ticks = 0;
    auto ticker = balrog::spawn([&] {
      for (int i = 0; i < 5; ++i) {
        balrog::this_fiber::sleep_for(10ms);
        ++ticks;
      }
    });
    blocking::query(conn, "select pg_sleep(0.2)");
    EXPECT_EQ(ticks, 5);  // the fiber kept running during the 200 ms query
    ticker.join();
    // Notifications through the blocking forms.
    auto listener = blocking::connect(pg_cluster::conninfo());
    blocking::listen(listener, "blocking_chan");
    blocking::notify(conn, "blocking_chan", "hello");
    auto n = blocking::wait_notification(listener, balrog::deadline(5s));
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->payload, "hello");
  });
}
