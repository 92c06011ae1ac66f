// The shared, pipelined connection where the pipeline meets what it does not own: cancels that
// could land on a neighbour (review C2), COPY and scripts next to other fibers (C3, C4, C8), a
// send that fills the socket while the server fills ours (C10), one caller's bad input (C11),
// close() while another fiber leads (C12), and the smaller notes of C14.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/pg/generated/blocking.hpp"
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

}  // namespace

// C2: a caller gives up on the statement the server runs. A cancel request takes a moment to
// arrive (here: held up 300 ms by the proxy); by then that statement is done and the server
// runs the next fiber's statement, which must not be the one cancelled.
TEST(PgPipelineFaults, AGivenUpStatementsCancelNeverHitsTheNextStatement) {
  balrog::run([] {
    tcp_fault_proxy proxy(server_port());
    auto c = connect_through(proxy);
    auto a = balrog::spawn([&] {
      balrog::deadline_scope bound(100ms);
      EXPECT_THROW(q(c, "select pg_sleep(0.2)"), balrog::timeout_error);
    });
    balrog::this_fiber::sleep_for(10ms);
    auto b = balrog::spawn([&] { return text(q(c, "select 'b' from pg_sleep(0.8)")); });
    balrog::this_fiber::sleep_for(70ms);
    proxy.set_delay(300ms);  // the cancel request, sent at 100 ms, reaches the server at ~400 ms
    a.join();
    std::string got;
    EXPECT_NO_THROW(got = b.join());
    EXPECT_EQ(got, "b");
    proxy.heal();
    EXPECT_EQ(text(q(c, "select 1")), "1");
  });
}

// C2, pooled: the statement given up was the last in flight, so it may be cancelled; but the
// next borrower's statement must not be sent before the cancel has landed and the cancelled
// statement's reply is in.
TEST(PgPipelineFaults, ACancelNeverHitsTheNextBorrower) {
  balrog::run([] {
    tcp_fault_proxy proxy(server_port());
    auto pool = balrog::await(pg::pool::create(through(proxy), {.max_size = 1}));
    {
      auto first = balrog::await(pool.acquire());
      auto timer = balrog::spawn([&] {
        balrog::this_fiber::sleep_for(90ms);
        proxy.set_delay(300ms);
      });
      balrog::deadline_scope bound(100ms);
      EXPECT_THROW(q(*first, "select pg_sleep(0.2)"), balrog::timeout_error);
      timer.join();
    }
    auto next = balrog::await(pool.acquire(balrog::deadline(10s)));
    std::string got;
    EXPECT_NO_THROW(got = text(q(*next, "select 'next' from pg_sleep(0.5)")));
    EXPECT_EQ(got, "next");
    proxy.heal();
  });
}

// C3: the statement cache's automatic PREPARE (a text's second use) next to a COPY.
TEST(PgPipelineFaults, AnAutomaticPrepareWaitsForACopy) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script("drop table if exists c3; create table c3(v int)"));
    EXPECT_EQ(text(q(c, "select $1::int + 1", {p("1")})), "2");  // first use
    auto w = balrog::await(c.copy_in("copy c3 from stdin"));
    balrog::await(w.write("1\n"));
    auto other = balrog::spawn([&] { return text(q(c, "select $1::int + 1", {p("2")})); });
    balrog::this_fiber::sleep_for(30ms);  // the second use waits for the COPY
    balrog::await(w.write("2\n"));
    EXPECT_EQ(balrog::await(w.finish()), 2U);
    EXPECT_EQ(other.join(), "3");
    EXPECT_TRUE(c.is_open());
    EXPECT_EQ(text(q(c, "select count(*) from c3")), "2");
  });
}

// C3: ... and next to another fiber's failed transaction (its PREPARE would fail with 25P02 and
// pass that error to a caller who is in no transaction at all).
TEST(PgPipelineFaults, AnAutomaticPrepareNeverRunsInsideAnotherFibersTransaction) {
  balrog::run([] {
    auto c = connect();
    EXPECT_EQ(text(q(c, "select $1::int * 10", {p("1")})), "10");
    auto t = balrog::await(c.begin());
    EXPECT_THROW(balrog::await(t.query("select 1/0")), pg::division_by_zero);
    auto other = balrog::spawn([&] { return text(q(c, "select $1::int * 10", {p("2")})); });
    balrog::this_fiber::sleep_for(30ms);
    balrog::await(t.rollback());
    std::string got;
    EXPECT_NO_THROW(got = other.join());
    EXPECT_EQ(got, "20");
  });
}

// C4: a copy_writer dropped mid-COPY while another fiber waits for the connection.
TEST(PgPipelineFaults, ADroppedCopyWriterIsCleanedUpBeforeTheNextStatement) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script("drop table if exists c4; create table c4(v int)"));
    std::optional<pg::copy_writer> w(balrog::await(c.copy_in("copy c4 from stdin")));
    balrog::await(w->write("1\n"));
    auto waiting = balrog::spawn([&] { return text(q(c, "select 'after'")); });
    auto beginning = balrog::spawn([&] {
      auto t = balrog::await(c.begin());
      balrog::await(t.query("insert into c4 values (7)"));
      balrog::await(t.commit());
    });
    balrog::this_fiber::sleep_for(20ms);
    w.reset();  // dropped: the COPY is aborted
    EXPECT_EQ(waiting.join(), "after");
    EXPECT_NO_THROW(beginning.join());
    EXPECT_TRUE(c.is_open());
    EXPECT_EQ(text(q(c, "select string_agg(v::text, ',') from c4")), "7");
  });
}

// C4: a COPY abandoned while the socket is full (the CopyFail stays in libpq's buffer): the
// clean-up must send it, not only read.
TEST(PgPipelineFaults, ACopyAbandonedWithTheSocketFullIsStillEnded) {
  balrog::run([] {
    tcp_fault_proxy proxy(server_port());
    auto c = connect_through(proxy);
    balrog::await(c.execute_script("drop table if exists c4b; create table c4b(v text)"));
    auto w = balrog::await(c.copy_in("copy c4b from stdin"));
    proxy.blackhole(true);
    // Far more than the sockets hold: most of it is still in libpq's buffer when we give up.
    const std::string row = std::string(16 << 20, 'x') + "\n";
    {
      balrog::deadline_scope bound(200ms);
      EXPECT_THROW(balrog::await(w.write(row)), balrog::timeout_error);
    }
    proxy.blackhole(false);
    balrog::deadline_scope bound(10s);
    EXPECT_EQ(text(q(c, "select count(*) from c4b")), "0");
    EXPECT_TRUE(c.is_open());
  });
}

// C8: execute_script (and COPY) next to a fiber waiting for notifications, which leads.
TEST(PgPipelineFaults, AScriptNextToANotificationWaiterDoesNotLivelock) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.listen("c8"));
    auto waiter = balrog::spawn([&] { return balrog::await(c.wait_notification(2s)); });
    balrog::this_fiber::sleep_for(20ms);
    {
      balrog::deadline_scope bound(1s);
      EXPECT_NO_THROW(balrog::await(c.execute_script("select 1; select 2")));
      auto r = balrog::await(c.copy_out("copy (select 1) to stdout"));
      while (balrog::await(r.next())) {
      }
    }
    balrog::await(c.notify("c8", "x"));
    auto n = waiter.join();
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->payload, "x");
  });
}

// C10: a fiber pipelines a large parameter while the statement ahead of it returns a large
// result. The server, blocked writing that result, does not read; the driver must read while it
// waits to write.
TEST(PgPipelineFaults, SendingALargeStatementWhileALargeResultComesBackDoesNotDeadlock) {
  balrog::run([] {
    auto c = connect();
    constexpr int size = 4 << 20;
    auto big_result = balrog::spawn([&] {
      auto r = q(c, "select repeat('r', $1::int) from pg_sleep(0.3)", {p(std::to_string(size))});
      return r[0][0].raw().size();
    });
    balrog::this_fiber::sleep_for(50ms);
    balrog::deadline_scope bound(20s);
    auto r = q(c, "select length($1::text)", {p(std::string(size, 'p'))});
    EXPECT_EQ(text(r), std::to_string(size));
    EXPECT_EQ(big_result.join(), static_cast<std::size_t>(size));
  });
}

// C11: one caller's bad input is that caller's error; the connection serves everyone else.
TEST(PgPipelineFaults, TooManyParametersFailOnlyThatCaller) {
  balrog::run([] {
    auto c = connect();
    auto neighbour = balrog::spawn([&] { return text(q(c, "select 'fine' from pg_sleep(0.05)")); });
    balrog::this_fiber::yield();
    std::vector<pg::param> many(65536, p("1"));
    EXPECT_THROW(q(c, "select 1", many), balrog::usage_error);
    EXPECT_EQ(neighbour.join(), "fine");
    EXPECT_TRUE(c.is_open());
    EXPECT_EQ(text(q(c, "select 1")), "1");
  });
}

TEST(PgPipelineFaults, CopyThroughQueryIsAUsageErrorNotASpin) {
  balrog::run([] {
    auto c = connect();
    balrog::await(c.execute_script("drop table if exists c11; create table c11(v int)"));
    balrog::deadline_scope bound(5s);
    EXPECT_THROW(q(c, "copy c11 from stdin"), balrog::usage_error);
    EXPECT_THROW(q(c, "  /* comment */ COPY (select 1) TO STDOUT"), balrog::usage_error);
    EXPECT_THROW(balrog::await(c.execute_script("copy c11 from stdin")), balrog::usage_error);
    EXPECT_THROW(balrog::await(c.execute_script("copy c11 to stdout")), balrog::usage_error);
    EXPECT_TRUE(c.is_open());
    EXPECT_EQ(text(q(c, "select 1")), "1");
  });
}

TEST(PgPipelineFaults, ATextParameterWithANulByteIsAnErrorNotATruncation) {
  balrog::run([] {
    auto c = connect();
    EXPECT_THROW(q(c, "select $1::text", {p(std::string("ab\0cd", 5))}),
                 pg::character_not_in_repertoire);
    const pg::bytea with_nul{{std::byte{'a'}, std::byte{0}, std::byte{'b'}}};
    EXPECT_EQ(text(q(c, "select length($1::bytea)", {pg::to_param(with_nul)})), "3");
  });
}

// C12: close() while another fiber leads (waits on the socket for its statement).
TEST(PgPipelineFaults, CloseWhileAnotherFiberLeadsWakesIt) {
  balrog::run([] {
    auto c = connect();
    auto leader = balrog::spawn([&] {
      balrog::deadline_scope bound(5s);
      EXPECT_THROW(q(c, "select pg_sleep(10)"), pg::connection_error);
    });
    balrog::this_fiber::sleep_for(50ms);
    const auto start = std::chrono::steady_clock::now();
    c.close();
    leader.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_FALSE(c.is_open());
  });
}

// C14: in sync mode (a plain thread, no runtime) each blocking call runs a private scheduler,
// which cancels the fibers left over when it returns. A statement given up inside one (here: a
// run() whose deadline passes) must still be cancelled on the server: the cancel is not lost
// when its scheduler ends.
TEST(PgPipelineFaults, InSyncModeAGivenUpStatementIsCancelled) {
  auto c = pg::blocking::connect(pg_cluster::conninfo());
  const auto start = std::chrono::steady_clock::now();
  balrog::run([&] {
    balrog::deadline_scope bound(100ms);
    EXPECT_THROW(q(c, "select pg_sleep(5)"), balrog::timeout_error);
  });
  EXPECT_EQ(pg::blocking::query(c, "select 1").scalar<int>(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s) << "the statement ran to its end";
}

// C14: result::iterator is a real random-access iterator.
TEST(PgPipelineFaults, ResultIteratorsAreRandomAccess) {
  static_assert(std::random_access_iterator<pg::result::iterator>);
  static_assert(std::ranges::random_access_range<pg::result>);
  balrog::run([] {
    auto c = connect();
    auto r = q(c, "select g from generate_series(1, 5) g");
    EXPECT_EQ(std::distance(r.begin(), r.end()), 5);
    std::vector<pg::row> rows(r.begin(), r.end());
    ASSERT_EQ(rows.size(), 5U);
    EXPECT_EQ(rows[4].get<int>(0), 5);
    EXPECT_EQ((r.begin() + 2)->get<int>(0), 3);
    EXPECT_EQ(r.end()[-1].get<int>(0), 5);
    auto found = std::ranges::find_if(r, [](const pg::row& row) { return row.get<int>(0) == 4; });
    EXPECT_EQ(found - r.begin(), 3);
  });
}
