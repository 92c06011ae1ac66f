// pg_sessions: many concurrent database sessions, in plain blocking libpq.
//
//   pg_sessions CONNINFO [SESSIONS]
//
// Each session connects and waits until every session is connected (a std::condition_variable),
// then makes three small transfers between accounts (a transaction each, with some think time
// before each), waits a little, runs a slow report (pg_sleep on the server), checks that no
// money appeared or vanished, and disconnects. Shared totals are kept under a std::mutex. Nothing
// here knows about balrog: the `make demo` build compiles this file as it is (pg_sessions_sync) and
// as balrog-gen rewrote it (pg_sessions_balrog).
#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "run_sessions.hpp"

namespace {

constexpr long initial_balance = 1000;

struct totals {
  std::mutex mutex;
  std::condition_variable all_connected;
  int connecting = 0;  // sessions not yet connected
  std::chrono::steady_clock::time_point connected_at;
  long queries = 0;
  long failed = 0;
  long transfers = 0;
  long bad_sums = 0;
  std::set<pid_t> threads;  // the OS threads the sessions ran on (gettid: not a fiber id)
};

// One command with text parameters; the result if its status is `expected`, else nullptr (and
// the error is printed).
PGresult* run(PGconn* conn, const char* sql, std::initializer_list<std::string> params,
              ExecStatusType expected, long& queries) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0);
  ++queries;
  if (PQresultStatus(r) != expected) {
    std::fprintf(stderr, "pg_sessions: %s: %s", sql, PQerrorMessage(conn));
    PQclear(r);
    return nullptr;
  }
  return r;
}

bool command(PGconn* conn, const char* sql, std::initializer_list<std::string> params,
             long& queries) {
  PGresult* r = run(conn, sql, params, PGRES_COMMAND_OK, queries);
  PQclear(r);
  return r != nullptr;
}

// Moves `amount` from one account to another, in a transaction.
bool transfer(PGconn* conn, int from, int to, int amount, long& queries) {
  const char* update = "update demo_accounts set balance = balance + $2 where id = $1";
  if (!command(conn, "begin", {}, queries)) return false;
  const bool ok =
      command(conn, update, {std::to_string(from), std::to_string(-amount)}, queries) &&
      command(conn, update, {std::to_string(to), std::to_string(amount)}, queries) &&
      command(conn, "insert into demo_transfers (from_id, to_id, amount) values ($1, $2, $3)",
              {std::to_string(from), std::to_string(to), std::to_string(amount)}, queries);
  command(conn, ok ? "commit" : "rollback", {}, queries);
  return ok;
}

void session(const char* conninfo, int id, int accounts, totals& t) {
  long queries = 0;
  long failed = 0;
  long transfers = 0;
  long bad_sums = 0;
  PGconn* conn = PQconnectdb(conninfo);
  {
    std::unique_lock<std::mutex> lock(t.mutex);
    if (--t.connecting == 0) {
      t.connected_at = std::chrono::steady_clock::now();
      t.all_connected.notify_all();
    }
    t.all_connected.wait(lock, [&] { return t.connecting == 0; });
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::fprintf(stderr, "pg_sessions: session %d: %s", id, PQerrorMessage(conn));
    ++failed;
  } else {
    for (int round = 1; round <= 3; ++round) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the user thinks
      // Between the session's own two accounts, back and forth: sessions never wait for each
      // other's row locks.
      const int a = 2 * id + 1;
      if (transfer(conn, round % 2 == 1 ? a : a + 1, round % 2 == 1 ? a + 1 : a, round, queries)) {
        ++transfers;
      } else {
        ++failed;
      }
    }
    usleep(20'000);
    PQclear(run(conn, "select pg_sleep(0.05)", {}, PGRES_TUPLES_OK, queries));  // a slow report
    PGresult* sum =
        run(conn, "select sum(balance) from demo_accounts", {}, PGRES_TUPLES_OK, queries);
    if (sum == nullptr) {
      ++failed;
    } else if (std::atol(PQgetvalue(sum, 0, 0)) != accounts * initial_balance) {
      ++bad_sums;
    }
    PQclear(sum);
  }
  PQfinish(conn);

  std::lock_guard<std::mutex> lock(t.mutex);
  t.queries += queries;
  t.failed += failed;
  t.transfers += transfers;
  t.bad_sums += bad_sums;
  t.threads.insert(::gettid());
}

// A fresh table of `accounts` accounts, initial_balance each.
bool setup(const char* conninfo, int accounts) {
  PGconn* conn = PQconnectdb(conninfo);
  long queries = 0;
  const bool ok =
      PQstatus(conn) == CONNECTION_OK &&
      command(conn, "drop table if exists demo_transfers, demo_accounts", {}, queries) &&
      command(conn, "create table demo_accounts (id int primary key, balance bigint not null)", {},
              queries) &&
      command(conn,
              "create table demo_transfers (id bigserial primary key, from_id int, to_id int, "
              "amount int)",
              {}, queries) &&
      command(conn, "insert into demo_accounts select g, $2 from generate_series(1, $1) g",
              {std::to_string(accounts), std::to_string(initial_balance)}, queries);
  if (!ok) std::fprintf(stderr, "pg_sessions: setup failed: %s", PQerrorMessage(conn));
  PQfinish(conn);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s CONNINFO [SESSIONS]\n", argv[0]);
    return 2;
  }
  const char* conninfo = argv[1];
  const int sessions = argc > 2 ? std::atoi(argv[2]) : 100;
  const int accounts = 2 * sessions;
  if (sessions < 1 || !setup(conninfo, accounts)) return 1;

  totals t;
  t.connecting = sessions;
  const auto start = std::chrono::steady_clock::now();
  run_sessions(sessions, [&](int i) { session(conninfo, i, accounts, t); });
  const auto end = std::chrono::steady_clock::now();

  // Every session has returned: t is ours alone.
  const std::chrono::duration<double> connect = t.connected_at - start;
  const std::chrono::duration<double> work = end - t.connected_at;
  std::printf(
      "pg_sessions: %d sessions, %s: %ld queries, %ld failed, %ld transfers, %ld bad sums; "
      "all connected after %.3f s, then worked %.3f s; sessions ran on %zu thread(s)\n",
      sessions, session_runner(), t.queries, t.failed, t.transfers, t.bad_sums, connect.count(),
      work.count(), t.threads.size());
  return t.failed == 0 && t.bad_sums == 0 ? 0 : 1;
}
