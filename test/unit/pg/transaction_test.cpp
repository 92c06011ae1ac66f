// Transactions on a shared connection when callers give up, fail or misuse them: the
// connection's idea of the transaction block and the server's never drift apart (review C1),
// commit() reports what happened (C7), and the holder of a transaction cannot deadlock itself
// (C9).
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include <string>
#include <thread>

#include "balrog/await.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "support/pg_test_support.hpp"

using namespace std::chrono_literals;
namespace pg = balrog::pg;
using namespace balrog::test::pg_support;
using balrog::test::pg_cluster;

// C1 (a): BEGIN is pipelined behind a slow statement; its caller gives up before the BEGIN's
// reply. The server runs the BEGIN anyway: the driver must end that transaction before anything
// of another caller runs, or later autocommit statements join it and are lost.
TEST(PgTransactionState, ABeginThatTimesOutLeavesNoTransactionBehind) {
  balrog::run([] {
    auto c = connect();
    fresh_table(c, "c1a");
    auto slow = balrog::spawn([&] { q(c, "select pg_sleep(0.3)"); });
    balrog::this_fiber::sleep_for(20ms);  // the slow statement leads and waits for the server
    {
      balrog::deadline_scope bound(50ms);
      EXPECT_THROW(balrog::await(c.begin()), balrog::timeout_error);
    }
    q(c, "insert into c1a values (1)");
    slow.join();
    EXPECT_EQ(outside("select count(*) from c1a"), "1") << "the INSERT ran in an orphaned BEGIN";
    expect_idle(c);
  });
}

namespace {

// Blocks the thread (and so the shard: nobody reads the connection meanwhile) until the server
// has answered everything backend `pid` was sent and sits in an open transaction block.
void block_until_idle_in_transaction(int pid) {
  PGconn* watcher = PQconnectdb(pg_cluster::conninfo().c_str());
  ASSERT_EQ(PQstatus(watcher), CONNECTION_OK) << PQerrorMessage(watcher);
  const std::string sql = "select state from pg_stat_activity where pid = " + std::to_string(pid);
  std::string state;
  for (int i = 0; i < 500 && state != "idle in transaction"; ++i) {
    PGresult* r = PQexec(watcher, sql.c_str());
    state = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    if (state != "idle in transaction") std::this_thread::sleep_for(10ms);
  }
  PQfinish(watcher);
  EXPECT_EQ(state, "idle in transaction");
  // The state is published just before ReadyForQuery is sent: give it time to reach us.
  std::this_thread::sleep_for(50ms);
}

}  // namespace

// C1 (a), in one turn: the leader reads the BEGIN's reply in the very turn its caller is
// cancelled. The request is done, without error, and yet its caller leaves: the block is open
// on the server, so it must be rolled back, not merely released, or the next fiber's statement
// runs inside it (PgRandomized, seed 2603721678: a neighbour got 25P02 after a statement of
// another fiber had failed in that orphaned block).
TEST(PgTransactionState, ABeginAnsweredInTheTurnItsCallerIsCancelledLeavesNoTransactionBehind) {
  balrog::run([] {
    auto c = connect();
    fresh_table(c, "c1c");
    auto leader = balrog::spawn([&] { q(c, "select pg_sleep(0.2)"); });
    balrog::this_fiber::sleep_for(20ms);  // it leads, waiting for the server
    bool begin_was_cancelled = false;
    auto beginner = balrog::spawn([&] {
      try {
        auto t = balrog::await(c.begin());  // pipelined behind the sleep
        balrog::await(t.rollback());
      } catch (const balrog::cancelled&) {
        begin_was_cancelled = true;
      }
    });
    balrog::this_fiber::sleep_for(20ms);
    // Both replies (the sleep's and the BEGIN's) arrive while the shard is blocked: the leader
    // reads them in one go.
    block_until_idle_in_transaction(c.backend_pid());
    // The leader is woken first (`other` queues a statement, which kicks it), then the BEGIN's
    // caller is cancelled: the leader runs first and completes the BEGIN, then its caller
    // resumes with both its cancellation and its reply.
    auto other = balrog::spawn([&] { q(c, "insert into c1c values (1)"); });
    balrog::this_fiber::yield();
    beginner.cancel();
    leader.join();
    beginner.join();
    EXPECT_TRUE(begin_was_cancelled) << "the race this test sets up did not happen";
    other.join();
    EXPECT_EQ(outside("select count(*) from c1c"), "1") << "the INSERT ran in an orphaned BEGIN";
    expect_idle(c);
  });
}

// C1 (b): commit() whose caller has already given up (an expired deadline) while another fiber
// leads. The COMMIT must not be silently dropped with the section released: other fibers'
// statements would run inside the transaction. Not sent yet, it becomes a ROLLBACK (so the
// outcome is known: nothing committed).
TEST(PgTransactionState, ACommitWhoseCallerGaveUpIsNeverDropped) {
  balrog::run([] {
    auto c = connect();
    fresh_table(c, "c1b");
    // A notification waiter leads the connection and keeps leading while others use it.
    auto waiter = balrog::spawn([&] { return balrog::await(c.wait_notification(400ms)); });
    balrog::this_fiber::sleep_for(20ms);
    {
      auto t = balrog::await(c.begin());
      balrog::await(t.query("insert into c1b values (1)"));
      balrog::deadline_scope expired(-1ms);
      EXPECT_THROW(balrog::await(t.commit()), balrog::timeout_error);
    }
    q(c, "insert into c1b values (2)");
    EXPECT_FALSE(waiter.join().has_value());
    EXPECT_EQ(outside("select coalesce(string_agg(v::text, ','), '') from c1b"), "2");
    expect_idle(c);
  });
}

// C7: PostgreSQL answers COMMIT in a failed transaction with the tag ROLLBACK and no error.
TEST(PgTransactionState, CommitOfAFailedTransactionThrows) {
  balrog::run([] {
    auto c = connect();
    fresh_table(c, "c7");
    auto t = balrog::await(c.begin());
    balrog::await(t.query("insert into c7 values (1)"));
    EXPECT_THROW(balrog::await(t.query("select 1/0")), pg::error);  // caught by the caller
    try {
      balrog::await(t.commit());
      ADD_FAILURE() << "commit() returned normally; nothing was committed";
    } catch (const pg::transaction_rollback& e) {
      EXPECT_EQ(e.sqlstate(), "40000");
      EXPECT_NE(std::string(e.what()).find("rolled back"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(t.is_open());
    EXPECT_EQ(outside("select count(*) from c7"), "0");
    expect_idle(c);
  });
}

// C7: the connection is lost after the COMMIT reached the server and before its reply came
// back. The caller cannot know the outcome: commit_in_doubt, not a plain connection_error.
TEST(PgTransactionState, ACommitWhoseReplyIsLostIsInDoubt) {
  balrog::run([] {
    auto setup = connect();
    fresh_table(setup, "c7d");
    balrog::test::tcp_fault_proxy proxy(server_port());
    auto c = connect_through(proxy);
    const int pid = c.backend_pid();
    auto t = balrog::await(c.begin());
    balrog::await(t.query("insert into c7d values (1)"));
    proxy.cut_after_client_sends("COMMIT");
    try {
      balrog::await(t.commit());
      ADD_FAILURE() << "commit() returned normally";
    } catch (const pg::commit_in_doubt& e) {
      EXPECT_EQ(e.sqlstate(), "08007");  // transaction_resolution_unknown
    }
    EXPECT_FALSE(c.is_open());
    // The server did commit: "in doubt" was the honest answer. (It commits while we hear of
    // the lost connection: wait for its backend to end.)
    const std::string gone =
        "select count(*) from pg_stat_activity where pid = " + std::to_string(pid);
    for (int i = 0; i < 500 && outside(gone) != "0"; ++i) balrog::this_fiber::sleep_for(10ms);
    EXPECT_EQ(outside("select count(*) from c7d"), "1");
  });
}

// A COMMIT that never left the client (the connection was already gone) is a plain
// connection_error: nothing can have been committed.
TEST(PgTransactionState, ACommitThatWasNeverSentIsNotInDoubt) {
  balrog::run([] {
    auto setup = connect();
    fresh_table(setup, "c7n");
    balrog::test::tcp_fault_proxy proxy(server_port());
    auto c = connect_through(proxy);
    auto t = balrog::await(c.begin());
    balrog::await(t.query("insert into c7n values (1)"));
    proxy.reset_all();
    balrog::this_fiber::sleep_for(50ms);
    try {
      balrog::await(t.commit());
      ADD_FAILURE() << "commit() returned normally";
    } catch (const pg::commit_in_doubt&) {
      ADD_FAILURE() << "the COMMIT was never sent; the outcome is known";
    } catch (const pg::connection_error&) {
    }
    EXPECT_EQ(outside("select count(*) from c7n"), "0");
  });
}

// C9: the holder of a transaction using the connection directly waited for itself forever.
TEST(PgTransactionState, TheHolderUsingTheConnectionDirectlyIsAUsageError) {
  balrog::run([] {
    auto c = connect();
    balrog::deadline_scope bound(5s);  // the old behaviour: a hang
    auto t = balrog::await(c.begin());
    EXPECT_THROW(q(c, "select 1"), balrog::usage_error);
    EXPECT_THROW(balrog::await(c.begin()), balrog::usage_error);
    EXPECT_THROW(balrog::await(c.execute_script("select 1")), balrog::usage_error);
    EXPECT_THROW(balrog::await(c.copy_out("copy (select 1) to stdout")), balrog::usage_error);
    // The transaction is unharmed and other fibers still wait for it, as before.
    EXPECT_EQ(text(balrog::await(t.query("select 2"))), "2");
    auto other = balrog::spawn([&] { return text(q(c, "select 3")); });
    balrog::this_fiber::sleep_for(20ms);
    EXPECT_FALSE(other.done());
    balrog::await(t.commit());
    EXPECT_EQ(other.join(), "3");
    expect_idle(c);
  });
}
