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
#include "support/pg_test_support.hpp"

using namespace std::chrono_literals;
namespace pg = balrog::pg;
using balrog::test::pg_cluster;
using balrog::test::pg_support::connect;
using balrog::test::pg_support::expect_idle;
using balrog::test::pg_support::fresh_table;
using balrog::test::pg_support::outside;

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
    int idle_pid = 0;
    {
      auto idle = balrog::await(p.acquire());  // the other one, idle until now
      idle_pid = idle->backend_pid();
    }
    ASSERT_EQ(text(q(killer, "select pg_terminate_backend(" + std::to_string(idle_pid) + ")")),
              "t");
    balrog::this_fiber::sleep_for(50ms);
    // The pool serves new work: broken connections are replaced by new ones.
    int failures = 0;
    for (int i = 0; i < 4; ++i) {
      try {
        auto c = balrog::await(p.acquire());
        EXPECT_EQ(text(q(*c, "select 7")), "7");
      } catch (const pg::connection_error&) {
        ++failures;  // the killed idle connection: its user sees a typed error, the pool drops it
      }
    }
    EXPECT_EQ(failures, 1);
    auto c = balrog::await(p.acquire());
    EXPECT_EQ(text(q(*c, "select 8")), "8");
    EXPECT_EQ(p.stats().connects, 3U);
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

// C5: a health check against a dead network (a blackholed proxy) is bounded by the acquire
// deadline, and an interrupted check does not leak the slot.
TEST(PgPool, AnInterruptedHealthCheckKeepsItsSlotAndObeysTheDeadline) {
  balrog::run([] {
    balrog::test::tcp_fault_proxy proxy(balrog::test::pg_support::server_port());
    auto p = balrog::await(pg::pool::create(balrog::test::pg_support::through(proxy),
                                            {.max_size = 1, .health_check_after = 0ms}));
    { auto c = balrog::await(p.acquire()); }  // one idle connection, checked before reuse
    proxy.blackhole(true);
    const auto start = std::chrono::steady_clock::now();
    {
      balrog::deadline_scope backstop(5s);
      EXPECT_THROW(balrog::await(p.acquire(balrog::deadline(200ms))), balrog::timeout_error);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "the check ignored the deadline";
    EXPECT_EQ(p.stats().open, 0U) << "the interrupted check leaked its slot";
    proxy.blackhole(false);
    auto c = balrog::await(p.acquire(balrog::deadline(5s)));
    EXPECT_EQ(text(q(*c, "select 1")), "1");
  });
}

// C14: a borrower that LISTENs must not pass its channels (and queued notifications) on to the
// next borrower of the same connection.
TEST(PgPool, ListeningDoesNotOutliveTheBorrower) {
  balrog::run([] {
    auto p = make_pool({.max_size = 1});
    {
      auto c = balrog::await(p.acquire());
      balrog::await(c->listen("pool_chan"));
    }
    auto c = balrog::await(p.acquire());
    auto sender = balrog::await(pg::connection::connect(pg_cluster::conninfo()));
    balrog::await(sender.notify("pool_chan", "for the first borrower"));
    EXPECT_FALSE(balrog::await(c->wait_notification(100ms)).has_value());
    EXPECT_EQ(text(q(*c, "select count(*) from pg_listening_channels()")), "0");
  });
}

// C1, pooled: a borrower leaves a transaction open by hand (a script's BEGIN). The next borrower
// must get a connection in a known idle state, or its INSERT is lost.
TEST(PgPool, APoolNeverHandsOutAConnectionInsideATransaction) {
  balrog::run([] {
    auto setup = connect();
    fresh_table(setup, "c1p");
    auto p = balrog::await(pg::pool::create(pg_cluster::conninfo(), {.max_size = 1}));
    {
      auto b = balrog::await(p.acquire());
      balrog::await(b->execute_script("begin; insert into c1p values (1)"));
    }
    {
      auto b = balrog::await(p.acquire());
      q(*b, "insert into c1p values (2)");
      expect_idle(*b);
    }
    EXPECT_EQ(outside("select coalesce(string_agg(v::text, ','), '') from c1p"), "2");
  });
}

// C1, pooled, through the driver's own transaction: its BEGIN times out mid-way.
TEST(PgPool, APooledBeginThatTimesOutIsRolledBackBeforeReuse) {
  balrog::run([] {
    auto setup = connect();
    fresh_table(setup, "c1q");
    auto p = balrog::await(pg::pool::create(pg_cluster::conninfo(), {.max_size = 1}));
    {
      auto b = balrog::await(p.acquire());
      auto slow = balrog::spawn([&] { q(*b, "select pg_sleep(0.2)"); });
      balrog::this_fiber::sleep_for(20ms);
      {
        balrog::deadline_scope bound(30ms);
        EXPECT_THROW(balrog::await(b->begin()), balrog::timeout_error);
      }
      slow.join();
    }
    auto b = balrog::await(p.acquire());
    q(*b, "insert into c1q values (1)");
    expect_idle(*b);
    EXPECT_EQ(outside("select count(*) from c1q"), "1");
  });
}
