// pg::pool against a real server: sizing, the bounded waiting queue, deadlines, health checks,
// lifetime, and healing after the server kills connections.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/pg/pool.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/wait_group.hpp"
#include "balrog/this_fiber.hpp"
#include "support/pg_cluster.hpp"

using namespace std::chrono_literals;
namespace pg = balrog::pg;
using balrog::test::pg_cluster;

namespace {

pg::pool make_pool(pg::pool_options o) {
  return balrog::await(pg::pool::create(pg_cluster::conninfo(), o));
}

std::string text(const pg::result& r) { return std::string(r[0][0].raw()); }

pg::result q(pg::connection& c, std::string sql) { return balrog::await(c.query(std::move(sql))); }

}  // namespace

TEST(PgPool, CreateOpensMinSizeAndValidatesOptions) {
  balrog::run([] {
    auto p = make_pool({.min_size = 3, .max_size = 5});
    EXPECT_EQ(p.stats().open, 3U);
    EXPECT_EQ(p.stats().idle, 3U);
    EXPECT_THROW(make_pool({.min_size = 6, .max_size = 5}), balrog::usage_error);
    EXPECT_THROW(make_pool({.max_size = 0}), balrog::usage_error);
  });
}

TEST(PgPool, TenConnectionsServeAThousandFibers) {
  balrog::run([] {
    auto p = make_pool({.max_size = 10});
    std::atomic<int> ok{0};
    std::size_t most_open = 0;
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 1000; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        auto conn = balrog::await(p.acquire());
        auto r = balrog::await(conn->query("select $1::int * 2", i));
        most_open = std::max(most_open, p.stats().open);
        if (text(r) == std::to_string(i * 2)) ++ok;
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_EQ(ok.load(), 1000);
    EXPECT_LE(most_open, 10U);
    EXPECT_EQ(p.stats().open, 10U);
    EXPECT_EQ(p.stats().connects, 10U);
    EXPECT_EQ(p.stats().waiting, 0U);
  });
}

TEST(PgPool, AcquireWaitsInOrderAndTimesOut) {
  balrog::run([] {
    auto p = make_pool({.max_size = 1, .acquire_timeout = 100ms});
    auto held = balrog::await(p.acquire());
    // Nobody returns it: the default deadline (acquire_timeout) passes.
    EXPECT_THROW(balrog::await(p.acquire()), balrog::timeout_error);
    EXPECT_EQ(p.stats().acquire_timeouts, 1U);
    // Waiters are served first come, first served, each getting the returned connection.
    std::vector<int> order;
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 3; ++i) {
      fibers.push_back(balrog::spawn([&, i] {
        auto c = balrog::await(p.acquire(balrog::deadline(5s)));
        order.push_back(i);
      }));
    }
    balrog::this_fiber::sleep_for(20ms);
    EXPECT_EQ(p.stats().waiting, 3U);
    { auto drop = std::move(held); }
    for (auto& f : fibers) f.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(p.stats().connects, 1U);
  });
}

TEST(PgPool, TheWaitingQueueIsBounded) {
  balrog::run([] {
    auto p = make_pool({.max_size = 1, .max_waiting = 2});
    auto held = balrog::await(p.acquire());
    std::vector<balrog::fiber<void>> waiters;
    for (int i = 0; i < 2; ++i) {
      waiters.push_back(balrog::spawn([&] { auto c = balrog::await(p.acquire()); }));
    }
    balrog::this_fiber::sleep_for(20ms);
    try {
      balrog::await(p.acquire());
      ADD_FAILURE() << "a third waiter was accepted";
    } catch (const pg::pool_exhausted& e) {
      EXPECT_NE(std::string(e.what()).find("max_waiting"), std::string::npos) << e.what();
    }
    EXPECT_EQ(p.stats().rejected, 1U);
    { auto drop = std::move(held); }
    for (auto& f : waiters) f.join();
  });
}

TEST(PgPool, AConnectionLostMidQueryIsATypedErrorAndThePoolHeals) {
  balrog::run([] {
    auto p = make_pool({.min_size = 2, .max_size = 2, .health_check_after = -1ms});
    auto killer = balrog::await(pg::connection::connect(pg_cluster::conninfo()));
    auto victim = balrog::await(p.acquire());
    const int pid = victim->backend_pid();
    auto f = balrog::spawn([&] { q(*victim, "select pg_sleep(10)"); });
    balrog::this_fiber::sleep_for(50ms);
    q(killer, "select pg_terminate_backend(" + std::to_string(pid) + ")");
    EXPECT_THROW(f.join(), pg::connection_error);
    { auto drop = std::move(victim); }  // returned broken: closed, its slot freed
    EXPECT_EQ(p.stats().discarded_broken, 1U);
    EXPECT_EQ(p.stats().open, 1U);
    // Kill the idle one too: health checks are off, so only the query finds out.
    auto pids = q(killer,
                  "select pg_terminate_backend(pid) from pg_stat_activity "
                  "where backend_type = 'client backend' and pid <> pg_backend_pid() "
                  "and application_name = '' and state = 'idle'");
    (void)pids;
    // The pool serves new work: broken connections are replaced by new ones.
    for (int i = 0; i < 4; ++i) {
      try {
        auto c = balrog::await(p.acquire());
        EXPECT_EQ(text(q(*c, "select 7")), "7");
      } catch (const pg::connection_error&) {
        // the killed idle connection: its user sees a typed error, the pool drops it
      }
    }
    auto c = balrog::await(p.acquire());
    EXPECT_EQ(text(q(*c, "select 8")), "8");
    EXPECT_GE(p.stats().connects, 3U);
  });
}

TEST(PgPool, HealthChecksDiscardDeadIdleConnections) {
  balrog::run([] {
    auto p = make_pool({.min_size = 1, .max_size = 1, .health_check_after = 0ms});
    int pid = 0;
    {
      auto c = balrog::await(p.acquire());
      pid = c->backend_pid();
    }
    auto killer = balrog::await(pg::connection::connect(pg_cluster::conninfo()));
    q(killer, "select pg_terminate_backend(" + std::to_string(pid) + ")");
    balrog::this_fiber::sleep_for(50ms);
    // The check finds the dead connection; the caller gets a fresh one, never the dead one.
    auto c = balrog::await(p.acquire());
    EXPECT_NE(c->backend_pid(), pid);
    EXPECT_EQ(text(q(*c, "select 1")), "1");
    EXPECT_EQ(p.stats().discarded_broken, 1U);
  });
}

TEST(PgPool, MaxLifetimeAndMaxIdleRetireConnections) {
  balrog::run([] {
    auto p = make_pool({.min_size = 0, .max_size = 2, .max_lifetime = 50ms, .max_idle = 0ms});
    int first = 0;
    {
      auto c = balrog::await(p.acquire());
      first = c->backend_pid();
      balrog::this_fiber::sleep_for(60ms);
    }  // older than max_lifetime: closed on return
    EXPECT_EQ(p.stats().open, 0U);
    EXPECT_EQ(p.stats().discarded_old, 1U);
    auto c = balrog::await(p.acquire());
    EXPECT_NE(c->backend_pid(), first);
  });
  balrog::run([] {
    auto p = make_pool({.min_size = 1, .max_size = 3, .max_idle = 30ms});
    {
      auto a = balrog::await(p.acquire());
      auto b = balrog::await(p.acquire());
      auto c = balrog::await(p.acquire());
    }
    EXPECT_EQ(p.stats().idle, 3U);
    balrog::this_fiber::sleep_for(50ms);
    auto a = balrog::await(p.acquire());  // trims the two idle beyond min_size first
    EXPECT_EQ(p.stats().open, 1U);
  });
}

TEST(PgPool, ConnectFailuresAreTypedAndDoNotLeakSlots) {
  balrog::run([] {
    auto p = balrog::await(
        pg::pool::create("host=127.0.0.1 port=1 user=postgres connect_timeout=2", {.max_size = 1}));
    for (int i = 0; i < 3; ++i) EXPECT_THROW(balrog::await(p.acquire()), pg::connection_error);
    EXPECT_EQ(p.stats().open, 0U);
    EXPECT_EQ(p.stats().connect_failures, 3U);
  });
}

TEST(PgPool, PoolQueryAndDiscard) {
  balrog::run([] {
    auto p = make_pool({.max_size = 2});
    EXPECT_EQ(text(balrog::await(p.query("select $1::text", std::string("hi")))), "hi");
    {
      auto c = balrog::await(p.acquire());
      q(*c, "set search_path = nowhere");
      c.discard();  // session state the next user must not inherit
    }
    EXPECT_EQ(p.stats().open, 0U);
    auto c = balrog::await(p.acquire());
    EXPECT_EQ(text(q(*c, "show search_path")), "\"$user\", public");
  });
}

TEST(PgPool, UsingAPoolFromAnotherShardIsAUsageError) {
  std::optional<pg::pool> p;
  balrog::run([&] { p.emplace(make_pool({.max_size = 1})); });
  std::thread([&] {
    balrog::run([&] { EXPECT_THROW(balrog::await(p->acquire()), balrog::usage_error); });
  }).join();
}
