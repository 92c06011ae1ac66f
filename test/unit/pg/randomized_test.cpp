// A randomized test of one pipelined connection: 1,000 fibers issue statements with random
// deadlines, random cancellations, SQL errors and transactions (committed, rolled back, failed,
// dropped). Every caller must get exactly its own result or its own error; afterwards the
// connection is still the only one, idle, and the table holds exactly the committed rows.
//
// Seeded: BALROG_TEST_SEED=<n> replays a run (the seed is printed). Bounded in time.
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

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

namespace {

pg::param p(std::string v) { return pg::param{0, std::move(v), false}; }

std::uint64_t seed_of_this_run() {
  if (const char* s = std::getenv("BALROG_TEST_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device{}();
}

// What became of one transaction, as its caller saw it.
enum class fate { committed, rolled_back, in_doubt };

struct tally {
  int results = 0;
  int errors = 0;
  int timeouts = 0;
  int cancels = 0;
  int transactions = 0;
  int wrong = 0;  // anything else: someone else's result or error, an unexpected exception
  std::string first_wrong;
  std::map<std::string, fate> rows;  // transactions' tokens
  void bad(const std::string& what) {
    if (wrong++ == 0) first_wrong = what;
  }
};

// One random operation of fiber `f`, step `k`. `token` is unique to it.
void one_operation(pg::connection& c, std::mt19937_64& rng, const std::string& token, tally& t) {
  const int op = static_cast<int>(rng() % 100);
  const std::string sleep = "0.00" + std::to_string(rng() % 5);  // 0-4 ms on the server
  std::optional<balrog::deadline_scope> bound;
  if (op % 4 == 0) bound.emplace(std::chrono::milliseconds(rng() % 15));  // may expire
  try {
    if (op < 55) {
      auto r = q(c, "select $1::text from pg_sleep($2::float8)", {p(token), p(sleep)});
      if (r.size() == 1 && text(r) == token) {
        ++t.results;
      } else {
        t.bad(token + " got " + (r.size() == 1 ? text(r) : "rows " + std::to_string(r.size())));
      }
    } else if (op < 80) {
      try {
        q(c, "select balrog_fail($1)", {p(token)});
        t.bad(token + ": the failing statement succeeded");
      } catch (const pg::raise_exception& e) {
        if (e.primary() == "failed " + token) {
          ++t.errors;
        } else {
          t.bad(token + " got the error '" + e.primary() + "'");
        }
      }
    } else {
      ++t.transactions;
      t.rows[token] = fate::rolled_back;
      auto tx = balrog::await(c.begin());
      balrog::await(tx.query("insert into random_rows values ($1)", {p(token)}));
      const int how = static_cast<int>(rng() % 4);
      if (how == 0) {
        balrog::await(tx.rollback());
      } else if (how == 1) {
        // A failed statement, caught: COMMIT then rolls back, and says so.
        try {
          balrog::await(tx.query("select 1/0"));
          t.bad(token + ": 1/0 succeeded");
        } catch (const pg::division_by_zero&) {
        }
        try {
          balrog::await(tx.commit());
          t.bad(token + ": commit of a failed transaction returned normally");
        } catch (const pg::transaction_rollback&) {
        }
      } else if (how == 2) {
        // dropped: rolled back
      } else {
        try {
          balrog::await(tx.commit());
          t.rows[token] = fate::committed;
        } catch (const pg::commit_in_doubt&) {
          t.rows[token] = fate::in_doubt;
          throw balrog::timeout_error();  // (it was a deadline or a cancel)
        }
      }
    }
  } catch (const balrog::timeout_error&) {
    ++t.timeouts;
  } catch (const balrog::cancelled&) {
    ++t.cancels;
    throw;  // sticky: the fiber ends
  } catch (const std::exception& e) {
    t.bad(token + " threw " + e.what());
  }
}

}  // namespace

TEST(PgRandomized, AThousandFibersOnOnePipelinedConnectionEachGetTheirOwnOutcome) {
  const std::uint64_t seed = seed_of_this_run();
  std::printf("PgRandomized seed: %llu (BALROG_TEST_SEED=%llu replays it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  RecordProperty("seed", std::to_string(seed));
  balrog::run([seed] {
    balrog::deadline_scope whole_test(120s);
    const std::string app = "balrog_random_" + std::to_string(seed);
    auto c =
        balrog::await(pg::connection::connect(pg_cluster::conninfo() + " application_name=" + app));
    balrog::await(c.execute_script(
        "drop table if exists random_rows; create table random_rows(token text primary key);"
        "create or replace function balrog_fail(t text) returns int language plpgsql as "
        "$$ begin raise exception 'failed %', t; end $$"));
    tally t;
    std::mt19937_64 master(seed);
    constexpr int fibers = 1000;
    constexpr int steps = 3;
    std::vector<balrog::fiber<void>> all;
    all.reserve(fibers);
    for (int f = 0; f < fibers; ++f) {
      const std::uint64_t fiber_seed = master();
      all.push_back(balrog::spawn([&, f, fiber_seed] {
        std::mt19937_64 rng(fiber_seed);
        for (int k = 0; k < steps; ++k) {
          one_operation(c, rng, "f" + std::to_string(f) + "s" + std::to_string(k), t);
          if (rng() % 3 == 0) balrog::this_fiber::yield();
        }
      }));
    }
    // Random cancellations: a tenth of the fibers, at random moments.
    auto canceller = balrog::spawn([&] {
      std::mt19937_64 rng(master());
      for (int i = 0; i < fibers / 10; ++i) {
        balrog::this_fiber::sleep_for(std::chrono::microseconds(rng() % 2000));
        all[rng() % fibers].cancel();
      }
    });
    canceller.join();
    for (auto& f : all) {
      try {
        f.join();
      } catch (const balrog::cancelled&) {
      }
    }
    EXPECT_EQ(t.wrong, 0) << "first: " << t.first_wrong;
    EXPECT_GT(t.results, 0);
    EXPECT_GT(t.errors, 0);
    EXPECT_GT(t.transactions, 0);
    std::printf(
        "PgRandomized: %d results, %d own errors, %d timeouts, %d cancels, %d transactions\n",
        t.results, t.errors, t.timeouts, t.cancels, t.transactions);

    // The connection: still open, idle, and the only one of this test.
    ASSERT_TRUE(c.is_open());
    EXPECT_EQ(text(q(c, "select 'still fine'")), "still fine");
    EXPECT_EQ(PQtransactionStatus(c.native_handle()), PQTRANS_IDLE);
    EXPECT_EQ(
        text(q(c, "select count(*) from pg_stat_activity where application_name = $1", {p(app)})),
        "1");
    // The rows: exactly the committed transactions (and perhaps those in doubt).
    std::set<std::string> present;
    for (const pg::row row : q(c, "select token from random_rows")) {
      present.insert(row.get<std::string>(0));
    }
    for (const auto& [token, what] : t.rows) {
      if (what == fate::committed) {
        EXPECT_TRUE(present.contains(token)) << token << " was lost";
      }
      if (what == fate::rolled_back) {
        EXPECT_FALSE(present.contains(token)) << token << " was rolled back, yet it is there";
      }
      present.erase(token);
    }
    EXPECT_TRUE(present.empty()) << present.size() << " rows nobody inserted";
  });
}
