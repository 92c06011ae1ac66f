// Faults between the driver and a real server, injected by the test: a TCP proxy that delays,
// blackholes, resets or cuts the connection (support/tcp_fault_proxy.hpp); backends terminated
// politely (pg_terminate_backend) or killed (SIGKILL: the postmaster restarts every backend)
// in the middle of a statement and of a COMMIT; cancellation during COPY; pool exhaustion under
// deadlines. Its own binary: a SIGKILL takes the whole cluster through crash recovery.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/pg/pool.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/pg_test_support.hpp"

using namespace std::chrono_literals;
namespace pg = balrog::pg;
using namespace balrog::test::pg_support;
using balrog::test::pg_cluster;
using balrog::test::tcp_fault_proxy;

namespace {

pg::param p(std::string v) { return pg::param{0, std::move(v), false}; }

// A table whose COMMIT takes a while: a deferred constraint trigger sleeps `seconds` per row.
void slow_commit_table(pg::connection& c, const std::string& name, double seconds) {
  balrog::await(c.execute_script(
      "drop table if exists " + name + "; create table " + name +
      "(v int); create or replace function " + name +
      "_slow() returns trigger language plpgsql as $$ begin perform pg_sleep(" +
      std::to_string(seconds) + "); return null; end $$; create constraint trigger " + name +
      "_slow after insert on " + name +
      " deferrable initially deferred for each row execute "
      "function " +
      name + "_slow()"));
}

}  // namespace

TEST(PgFaults, ADelayedLinkStillDeliversEveryResultToItsCaller) {
  balrog::run([] {
    tcp_fault_proxy proxy(server_port());
    proxy.set_delay(20ms);
    auto c = connect_through(proxy);
    std::atomic<int> ok{0};
    std::vector<balrog::fiber<void>> fibers;
    for (int f = 0; f < 200; ++f) {
      fibers.push_back(balrog::spawn([&, f] {
        if (text(q(c, "select $1::text", {p("f" + std::to_string(f))})) ==
            "f" + std::to_string(f)) {
          ++ok;
        }
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_EQ(ok, 200);
  });
}

// A silent network (no RST, no FIN): the caller's deadline ends the wait; the connection is
// not broken, and when the network comes back the abandoned statement's reply is read and
// dropped, the next statement gets its own.
TEST(PgFaults, ABlackholeEndsInTheCallersDeadlineAndTheConnectionRecovers) {
  balrog::run([] {
    tcp_fault_proxy proxy(server_port());
    auto c = connect_through(proxy);
    proxy.blackhole(true);
    {
      balrog::deadline_scope bound(200ms);
      EXPECT_THROW(q(c, "select 'lost'"), balrog::timeout_error);
    }
    EXPECT_TRUE(c.is_open());
    proxy.blackhole(false);
    balrog::deadline_scope bound(10s);
    EXPECT_EQ(text(q(c, "select 'next'")), "next");
  });
}

// A reset: every caller on the connection gets connection_error at once, no hang; other
// connections are unaffected.
TEST(PgFaults, AResetFailsEveryCallerOfThatConnectionOnly) {
  balrog::run([] {
    tcp_fault_proxy proxy(server_port());
    auto c = connect_through(proxy);
    auto other = connect();
    std::atomic<int> failed{0};
    std::vector<balrog::fiber<void>> fibers;
    for (int f = 0; f < 20; ++f) {
      fibers.push_back(balrog::spawn([&] {
        balrog::deadline_scope bound(5s);
        try {
          q(c, "select pg_sleep(2)");
        } catch (const pg::connection_error&) {
          ++failed;
        }
      }));
    }
    balrog::this_fiber::sleep_for(100ms);
    const auto start = std::chrono::steady_clock::now();
    proxy.reset_all();
    for (auto& f : fibers) f.join();
    EXPECT_EQ(failed, 20);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_FALSE(c.is_open());
    EXPECT_EQ(text(q(other, "select 1")), "1");
  });
}

// The connection is cut in the middle of a large result: a typed error, never a hang or a
// partial result.
TEST(PgFaults, ACutInTheMiddleOfAResultIsAConnectionError) {
  balrog::run([] {
    tcp_fault_proxy proxy(server_port());
    auto c = connect_through(proxy);
    proxy.cut_after_server_bytes(100'000);
    balrog::deadline_scope bound(10s);
    EXPECT_THROW(q(c, "select repeat('x', 1000) from generate_series(1, 2000)"),
                 pg::connection_error);
    EXPECT_FALSE(c.is_open());
  });
}

// COMMIT sent, then the backend is terminated while it runs the deferred trigger: the server
// answers the COMMIT with FATAL 57P01 — a known outcome (rolled back), not "in doubt".
TEST(PgFaults, ABackendTerminatedDuringCommitAnswersIt) {
  balrog::run([] {
    auto c = connect();
    slow_commit_table(c, "tc", 1);
    auto killer = connect();
    auto t = balrog::await(c.begin());
    balrog::await(t.query("insert into tc values (1)"));
    auto terminate = balrog::spawn([&] {
      balrog::this_fiber::sleep_for(200ms);
      q(killer, "select pg_terminate_backend($1::int)", {p(std::to_string(c.backend_pid()))});
    });
    try {
      balrog::await(t.commit());
      ADD_FAILURE() << "commit() returned normally";
    } catch (const pg::commit_in_doubt& e) {
      ADD_FAILURE() << "the server answered; the outcome is known: " << e.what();
    } catch (const pg::connection_error& e) {
      EXPECT_EQ(e.sqlstate(), "57P01");
    }
    terminate.join();
    EXPECT_EQ(outside("select count(*) from tc"), "0");
  });
}

// SIGKILL in the middle of a statement: the caller gets connection_error; the postmaster
// restarts every backend, and a pool heals once the cluster is back.
TEST(PgFaults, ABackendKilledMidStatementIsAConnectionErrorAndThePoolHeals) {
  balrog::run([] {
    auto pool = balrog::await(pg::pool::create(pg_cluster::conninfo(), {.max_size = 2}));
    int pid = 0;
    auto victim = balrog::spawn([&] {
      auto conn = balrog::await(pool.acquire());
      pid = conn->backend_pid();
      EXPECT_THROW(q(*conn, "select pg_sleep(10)"), pg::connection_error);
    });
    balrog::this_fiber::sleep_for(200ms);
    kill_backend_hard(pid);
    victim.join();
    // Every pooled connection died with the restart; the pool replaces them.
    for (int i = 0; i < 4; ++i) {
      balrog::deadline_scope bound(10s);
      try {
        auto conn = balrog::await(pool.acquire());
        EXPECT_EQ(text(q(*conn, "select 1")), "1");
      } catch (const pg::connection_error&) {
        // an idle connection that died with the restart, found by its first statement
      }
    }
    auto conn = balrog::await(pool.acquire());
    EXPECT_EQ(text(q(*conn, "select 2")), "2");
  });
}

// SIGKILL while the server runs the COMMIT: no answer ever comes. The caller must learn that the
// outcome is unknown (commit_in_doubt), not a plain connection_error.
TEST(PgFaults, ABackendKilledDuringCommitLeavesItInDoubt) {
  balrog::run([] {
    auto setup = connect();
    slow_commit_table(setup, "kc", 1);
    auto c = connect();
    auto t = balrog::await(c.begin());
    balrog::await(t.query("insert into kc values (1)"));
    const int pid = c.backend_pid();
    auto kill = balrog::spawn([&] {
      balrog::this_fiber::sleep_for(300ms);
      kill_backend_hard(pid);
    });
    EXPECT_THROW(balrog::await(t.commit()), pg::commit_in_doubt);
    kill.join();
    EXPECT_EQ(outside("select count(*) from kc"), "0");  // the crash came before the commit
  });
}

// Cancellation during COPY: a reader given up mid-COPY OUT leaves the server to stop (it is
// asked to) and the next statement does not wait for millions of rows; a writer interrupted
// mid-COPY IN aborts it.
TEST(PgFaults, CancellingACopyStopsItOnTheServer) {
  balrog::run([] {
    auto c = connect();
    const auto start = std::chrono::steady_clock::now();
    auto reader = balrog::spawn([&] {
      // 50 million rows, streamed (a single generate_series would be materialized first).
      auto r = balrog::await(c.copy_out(
          "copy (select a * b from generate_series(1, 10000) a, generate_series(1, 5000) b) "
          "to stdout"));
      for (int i = 0; i < 1000; ++i) balrog::await(r.next());
      balrog::this_fiber::sleep_for(10s);  // cancelled here, holding the reader
    });
    balrog::this_fiber::sleep_for(300ms);
    reader.cancel();
    EXPECT_THROW(reader.join(), balrog::cancelled);
    EXPECT_EQ(text(q(c, "select 'after'")), "after");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the COPY ran to its end";

    fresh_table(c, "cc");
    auto writer = balrog::spawn([&] {
      auto w = balrog::await(c.copy_in("copy cc from stdin"));
      for (int i = 0;; ++i) {
        balrog::await(w.write(std::to_string(i) + "\n"));
        balrog::this_fiber::sleep_for(5ms);
      }
    });
    balrog::this_fiber::sleep_for(100ms);
    writer.cancel();
    EXPECT_THROW(writer.join(), balrog::cancelled);
    EXPECT_EQ(text(q(c, "select count(*) from cc")), "0");
    EXPECT_TRUE(c.is_open());
  });
}

// Pool exhaustion under deadlines: callers that cannot get a connection in time get
// timeout_error (or pool_exhausted beyond max_waiting); nothing leaks, and the pool serves
// normally afterwards.
TEST(PgFaults, PoolExhaustionWithDeadlines) {
  balrog::run([] {
    auto pool =
        balrog::await(pg::pool::create(pg_cluster::conninfo(), {.max_size = 2, .max_waiting = 30}));
    std::vector<balrog::fiber<void>> holders;
    for (int i = 0; i < 2; ++i) {
      holders.push_back(balrog::spawn([&] {
        auto conn = balrog::await(pool.acquire());
        q(*conn, "select pg_sleep(0.3)");
      }));
    }
    balrog::this_fiber::sleep_for(20ms);
    std::atomic<int> timed_out{0};
    std::atomic<int> rejected{0};
    std::atomic<int> served{0};
    std::vector<balrog::fiber<void>> callers;
    for (int i = 0; i < 50; ++i) {
      callers.push_back(balrog::spawn([&, i] {
        try {
          auto conn = balrog::await(pool.acquire(balrog::deadline(i % 2 == 0 ? 50ms : 2s)));
          q(*conn, "select 1");
          ++served;
        } catch (const balrog::timeout_error&) {
          ++timed_out;
        } catch (const pg::pool_exhausted&) {
          ++rejected;
        }
      }));
    }
    for (auto& f : callers) f.join();
    for (auto& f : holders) f.join();
    EXPECT_EQ(rejected, 20);  // beyond the 30 waiting
    EXPECT_EQ(timed_out + served, 30);
    EXPECT_GE(timed_out, 1);
    EXPECT_GE(served, 1);
    const pg::pool_stats s = pool.stats();
    EXPECT_EQ(s.waiting, 0U);
    EXPECT_LE(s.open, 2U);
    EXPECT_EQ(s.acquire_timeouts, static_cast<std::uint64_t>(timed_out.load()));
    EXPECT_EQ(text(balrog::await(pool.query("select 'fine'"))), "fine");
  });
}
