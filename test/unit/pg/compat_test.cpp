// balrog::compat's libpq twins against a real server: concurrency on one thread, every
// function on fibers and in sync mode, errors, connect_timeout, the LISTEN/NOTIFY select()/
// poll() pattern, COPY, cancellation, and a differential test against libpq itself.
#include "balrog/pg/compat/libpq.hpp"

#include <libpq/libpq-fs.h>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/compat/posix_net.hpp"
#include "balrog/deadline.hpp"
#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"
#include "io/fd_waits.hpp"
#include "support/pg_cluster.hpp"
#include "wait/readable_or_writable.hpp"

using namespace std::chrono_literals;
namespace compat = balrog::compat;
using balrog::test::pg_cluster;
using steady = std::chrono::steady_clock;

namespace {

// Starts the cluster before any test, on the main thread (not on a fiber: it waits for a
// child process).
class cluster_environment : public ::testing::Environment {
 public:
  void SetUp() override { pg_cluster::conninfo(); }
};
[[maybe_unused]] ::testing::Environment* const cluster =
    ::testing::AddGlobalTestEnvironment(new cluster_environment);

// One option of a conninfo string ("" when absent).
std::string option(const std::string& conninfo, const char* key) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  PQfreemem(err);
  std::string v;
  for (PQconninfoOption* o = opts; o != nullptr && o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, key) == 0 && o->val != nullptr) v = o->val;
  }
  PQconninfoFree(opts);
  return v;
}

std::string value(const PGresult* r, int row = 0, int col = 0) {
  return PQgetisnull(r, row, col) != 0 ? "<null>" : PQgetvalue(r, row, col);
}

std::string sqlstate(const PGresult* r) {
  const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  return s != nullptr ? s : "";
}

// Runs `fn` on a fiber (balrog::run) or on a plain thread with no runtime (sync mode).
void run_in(bool on_fiber, const std::function<void()>& fn) {
  if (on_fiber) {
    balrog::run(fn);
  } else {
    std::thread t(fn);
    t.join();
  }
}

// Every compat function once, on a fiber or in sync mode.
void exercise_everything() {
  const std::string& ci = pg_cluster::conninfo();
  PGconn* c = compat::PQconnectdb(ci.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);

  PGresult* r = compat::PQexec(c, "select 40 + 2");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_EQ(value(r), "42");
  PQclear(r);

  const char* params[] = {"20", nullptr};
  r = compat::PQexecParams(c, "select $1::int * 2, $2::text is null", 2, nullptr, params, nullptr,
                           nullptr, 0);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  EXPECT_EQ(value(r, 0, 0), "40");
  EXPECT_EQ(value(r, 0, 1), "t");
  PQclear(r);

  r = compat::PQprepare(c, "twice", "select $1::int * 2 as doubled", 1, nullptr);
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  const char* seven[] = {"7"};
  r = compat::PQexecPrepared(c, "twice", 1, seven, nullptr, nullptr, 0);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_EQ(value(r), "14");
  PQclear(r);
  r = compat::PQdescribePrepared(c, "twice");
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
  EXPECT_EQ(PQnparams(r), 1);
  EXPECT_EQ(PQparamtype(r, 0), 23U);  // int4
  EXPECT_STREQ(PQfname(r, 0), "doubled");
  PQclear(r);

  PQclear(compat::PQexec(c, "begin"));
  PQclear(compat::PQexec(c, "declare cur cursor for select 'a'::text as letter"));
  r = compat::PQdescribePortal(c, "cur");
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQfname(r, 0), "letter");
  PQclear(r);
  PQclear(compat::PQexec(c, "commit"));

  // The asynchronous API with blocking waits: PQsendQuery + PQgetResult.
  ASSERT_EQ(PQsendQuery(c, "select 1; select 2"), 1);
  std::vector<std::string> got;
  while ((r = compat::PQgetResult(c)) != nullptr) {
    got.push_back(value(r));
    PQclear(r);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"1", "2"}));

  // COPY in and out.
  PQclear(compat::PQexec(c, "create temp table t (id int, name text)"));
  r = compat::PQexec(c, "copy t from stdin");
  ASSERT_EQ(PQresultStatus(r), PGRES_COPY_IN);
  PQclear(r);
  std::string rows;
  for (int i = 0; i < 2000; ++i) rows += std::to_string(i) + "\tname-" + std::to_string(i) + "\n";
  for (std::size_t at = 0; at < rows.size(); at += 1000) {
    const auto n = static_cast<int>(std::min<std::size_t>(1000, rows.size() - at));
    ASSERT_EQ(compat::PQputCopyData(c, rows.data() + at, n), 1);
  }
  ASSERT_EQ(compat::PQputCopyEnd(c, nullptr), 1);
  r = compat::PQgetResult(c);
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  EXPECT_STREQ(PQcmdTuples(r), "2000");
  PQclear(r);
  EXPECT_EQ(compat::PQgetResult(c), nullptr);

  r = compat::PQexec(c, "copy (select * from t order by id) to stdout");
  ASSERT_EQ(PQresultStatus(r), PGRES_COPY_OUT);
  PQclear(r);
  std::string out;
  char* buf = nullptr;
  int n = 0;
  while ((n = compat::PQgetCopyData(c, &buf, 0)) > 0) {
    out.append(buf, static_cast<std::size_t>(n));
    PQfreemem(buf);
  }
  EXPECT_EQ(n, -1);
  EXPECT_EQ(out, rows);
  r = compat::PQgetResult(c);
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  EXPECT_EQ(compat::PQgetResult(c), nullptr);

  // Cancel a running statement (once it runs: a cancel that arrives first is ignored).
  ASSERT_EQ(PQsendQuery(c, "select pg_sleep(30)"), 1);
  PGconn* watcher = compat::PQconnectdb(ci.c_str());
  const std::string running =
      "select count(*) from pg_stat_activity where pid = " + std::to_string(PQbackendPID(c)) +
      " and state = 'active' and query like 'select pg_sleep%'";
  for (int i = 0; i < 500; ++i) {
    PGresult* w = compat::PQexec(watcher, running.c_str());
    const bool runs = value(w) == "1";
    PQclear(w);
    if (runs) break;
  }
  PQfinish(watcher);
  PGcancel* cancel = PQgetCancel(c);
  char errbuf[256] = {};
  const auto cancelled_at = steady::now();
  EXPECT_EQ(compat::PQcancel(cancel, errbuf, sizeof errbuf), 1) << errbuf;
  PQfreeCancel(cancel);
  r = compat::PQgetResult(c);
  EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
  EXPECT_EQ(sqlstate(r), "57014");  // query_canceled
  PQclear(r);
  EXPECT_EQ(compat::PQgetResult(c), nullptr);
  EXPECT_LT(steady::now() - cancelled_at, 10s);

  // Reset: a new backend.
  const int pid = PQbackendPID(c);
  compat::PQreset(c);
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  EXPECT_NE(PQbackendPID(c), pid);
  EXPECT_EQ(PQisnonblocking(c), 0);  // the application's blocking mode is kept
  PQfinish(c);

  // The other ways to connect.
  const std::string host = option(ci, "host"), port = option(ci, "port");
  const std::string user = option(ci, "user"), db = option(ci, "dbname");
  const char* keys[] = {"host", "port", "user", "dbname", nullptr};
  const char* vals[] = {host.c_str(), port.c_str(), user.c_str(), db.c_str(), nullptr};
  c = compat::PQconnectdbParams(keys, vals, 0);
  EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PQfinish(c);
  c = compat::PQsetdbLogin(host.c_str(), port.c_str(), nullptr, nullptr, db.c_str(), user.c_str(),
                           nullptr);
  EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PQfinish(c);

  EXPECT_EQ(compat::PQping(ci.c_str()), PQPING_OK);
  EXPECT_EQ(compat::PQpingParams(keys, vals, 0), PQPING_OK);
  EXPECT_EQ(compat::PQping("host=127.0.0.1 port=1"), PQPING_NO_RESPONSE);
}

}  // namespace

TEST(PgCompat, EverythingOnAFiber) { run_in(true, exercise_everything); }

TEST(PgCompat, EverythingInSyncMode) { run_in(false, exercise_everything); }

// 100 fibers on one thread, each with its own connection and a 0.2 s query: the queries must
// run at the same time (measured by how many intervals overlap, not by a tight time bound).
TEST(PgCompat, HundredConcurrentSessionsOnOneThread) {
  static constexpr int sessions = 100;
  struct span {
    steady::time_point begin, end;
    bool ok = false;
  };
  std::vector<span> spans(sessions);
  const auto started = steady::now();
  balrog::run([&] {
    std::vector<balrog::fiber<void>> fibers;
    int connected = 0;  // the server starts backends one by one: query once all are there
    for (int i = 0; i < sessions; ++i) {
      fibers.push_back(balrog::spawn([&spans, &connected, i] {
        PGconn* c = compat::PQconnectdb(pg_cluster::conninfo().c_str());
        ++connected;
        while (connected < sessions) balrog::this_fiber::sleep_for(1ms);
        if (PQstatus(c) == CONNECTION_OK) {
          spans[i].begin = steady::now();
          PGresult* r = compat::PQexec(c, "SELECT pg_sleep(0.2)");
          spans[i].end = steady::now();
          spans[i].ok = PQresultStatus(r) == PGRES_TUPLES_OK;
          PQclear(r);
        }
        PQfinish(c);
      }));
    }
    for (auto& f : fibers) f.join();
  });
  const auto elapsed = steady::now() - started;
  int most = 0;
  for (const span& s : spans) {
    ASSERT_TRUE(s.ok);
    int together = 0;  // queries running at the moment this one started
    for (const span& o : spans) together += o.begin <= s.begin && s.begin < o.end ? 1 : 0;
    most = std::max(most, together);
  }
  EXPECT_GE(most, sessions / 2) << "the queries did not overlap";
  EXPECT_LT(elapsed, sessions * 200ms / 2);  // connecting takes most of it
}

// A compat PQexec that waits for the server learns from the reactor's event that input is
// there (and no end of file): it makes no poll(2) to confirm it (and no MSG_PEEK read), so a
// query costs what blocking libpq's does: send, wait, receive.
TEST(PgCompat, AWaitForTheServerMakesNoPollToConfirmTheEvent) {
  balrog::run([] {
    PGconn* c = compat::PQconnectdb(pg_cluster::conninfo().c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    for (int i = 0; i < 3; ++i) {
      const std::uint64_t before = balrog::detail::poll_now_calls();
      PGresult* r = compat::PQexec(c, "SELECT pg_sleep(0.02)");  // the fiber has to wait
      EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(c);
      PQclear(r);
      EXPECT_EQ(balrog::detail::poll_now_calls() - before, 0u);
    }
    PQfinish(c);
  });
}

// The driver's flush wait (wait/readable_or_writable.hpp) is the runtime's fd-wait path: a
// deadline already past looks before it gives up, as every other wait does (review I). It used
// to queue on the reactor and time out even on a socket ready both ways.
TEST(PgWait, ReadableOrWritableWithAPastDeadlineLooksFirst) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  auto wait = [](int fd) -> balrog::task<void> {
    co_await balrog::pg::detail::readable_or_writable(
        fd, balrog::deadline(steady::now() - std::chrono::seconds(1)));
  };
  balrog::run([&] { EXPECT_NO_THROW(balrog::await(wait(sv[0]))); });
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(PgCompat, ErrorsAreLibpqs) {
  for (const bool on_fiber : {true, false}) {
    run_in(on_fiber, [] {
      PGconn* c = compat::PQconnectdb("host=127.0.0.1 port=1 connect_timeout=0");
      EXPECT_EQ(PQstatus(c), CONNECTION_BAD);
      EXPECT_NE(std::strstr(PQerrorMessage(c), "Connection refused"), nullptr) << PQerrorMessage(c);
      PQfinish(c);

      c = compat::PQconnectdb("host=nonexistent.invalid port=5432");
      EXPECT_EQ(PQstatus(c), CONNECTION_BAD);
      EXPECT_NE(std::strstr(PQerrorMessage(c), "nonexistent.invalid"), nullptr)
          << PQerrorMessage(c);
      PQfinish(c);

      c = compat::PQconnectdb(pg_cluster::conninfo().c_str());
      ASSERT_EQ(PQstatus(c), CONNECTION_OK);
      PGresult* r = compat::PQexec(c, "selec 1");
      EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
      EXPECT_EQ(sqlstate(r), "42601");  // syntax_error
      EXPECT_NE(std::strstr(PQerrorMessage(c), "syntax error"), nullptr);
      PQclear(r);
      r = compat::PQexec(c, nullptr);  // not sent: NULL, and PQerrorMessage says why
      EXPECT_EQ(r, nullptr);
      EXPECT_STREQ(PQerrorMessage(c), "command string is a null pointer\n");
      r = compat::PQexec(c, "select 1");  // the connection is fine afterwards
      EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
      EXPECT_STREQ(PQerrorMessage(c), "");
      PQclear(r);
      EXPECT_EQ(compat::PQputCopyData(c, "x", 1), -1);  // no COPY in progress
      EXPECT_STREQ(PQerrorMessage(c), "no COPY in progress\n");
      PQfinish(c);
    });
  }
}

// connect_timeout against a server that accepts TCP connections and never answers: the
// connection fails after the timeout (libpq: at least 2 s, counted in whole seconds), and
// other fibers run meanwhile.
TEST(PgCompat, ConnectTimeoutAgainstASilentServer) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const std::string conninfo = "host=127.0.0.1 port=" + port + " connect_timeout=2";
  balrog::run([&] {
    std::atomic<bool> done{false};
    int ticks = 0;
    auto ticker = balrog::spawn([&] {
      while (!done) {
        balrog::this_fiber::sleep_for(10ms);
        ++ticks;
      }
    });
    const auto start = steady::now();
    PGconn* c = compat::PQconnectdb(conninfo.c_str());
    const auto took = steady::now() - start;
    EXPECT_EQ(PQstatus(c), CONNECTION_BAD);
    EXPECT_NE(std::strstr(PQerrorMessage(c), "timeout expired"), nullptr) << PQerrorMessage(c);
    PQfinish(c);
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 5s);
    EXPECT_GE(ticks, 50);  // the thread was not blocked

    const char* keys[] = {"host", "port", "connect_timeout", nullptr};
    const char* vals[] = {"127.0.0.1", port.c_str(), "2", nullptr};
    c = compat::PQconnectdbParams(keys, vals, 0);
    EXPECT_EQ(PQstatus(c), CONNECTION_BAD);
    EXPECT_NE(std::strstr(PQerrorMessage(c), "timeout expired"), nullptr) << PQerrorMessage(c);
    PQfinish(c);
    done = true;
    ticker.join();
  });
  ::close(listener);
}

// The application's own LISTEN/NOTIFY loop: select() or poll() on PQsocket (rewritten by the
// posix-net map to balrog::compat::select/poll), then PQconsumeInput and PQnotifies.
TEST(PgCompat, NotifyThroughSelectAndPoll) {
  for (const bool use_poll : {false, true}) {
    balrog::run([use_poll] {
      const std::string& ci = pg_cluster::conninfo();
      PGconn* listener = compat::PQconnectdb(ci.c_str());
      ASSERT_EQ(PQstatus(listener), CONNECTION_OK);
      PQclear(compat::PQexec(listener, "listen chan"));
      std::atomic<bool> done{false};
      int ticks = 0;
      auto ticker = balrog::spawn([&] {
        while (!done) {
          balrog::this_fiber::sleep_for(10ms);
          ++ticks;
        }
      });
      auto notifier = balrog::spawn([&] {
        PGconn* c = compat::PQconnectdb(ci.c_str());
        balrog::this_fiber::sleep_for(300ms);
        PQclear(compat::PQexec(c, "notify chan, 'hello'"));
        PQfinish(c);
      });
      const int sock = PQsocket(listener);
      PGnotify* note = nullptr;
      while (note == nullptr) {
        int ready = 0;
        if (use_poll) {
          pollfd p{sock, POLLIN, 0};
          ready = compat::poll(&p, 1, 5000);
        } else {
          fd_set fds;
          FD_ZERO(&fds);
          FD_SET(sock, &fds);
          timeval tv{5, 0};
          ready = compat::select(sock + 1, &fds, nullptr, nullptr, &tv);
        }
        ASSERT_GT(ready, 0) << "no notification within 5 s";
        ASSERT_EQ(PQconsumeInput(listener), 1);
        note = PQnotifies(listener);
      }
      EXPECT_STREQ(note->relname, "chan");
      EXPECT_STREQ(note->extra, "hello");
      PQfreemem(note);
      EXPECT_GE(ticks, 10);  // the wait suspended only the fiber
      done = true;
      notifier.join();
      ticker.join();
      PQfinish(listener);
    });
  }
}

// TLS (the cluster's TCP address, sslmode=require) and results far larger than one TLS record:
// input that OpenSSL already decrypted must not be waited for on the socket.
TEST(PgCompat, LargeResultsOverTls) {
  balrog::run([] {
    const std::string ci = pg_cluster::tcp_conninfo() + " sslmode=require";
    PGconn* c = compat::PQconnectdb(ci.c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    ASSERT_EQ(PQsslInUse(c), 1);
    for (int round = 0; round < 5; ++round) {
      PGresult* r =
          compat::PQexec(c, "select repeat('x', 50000 + g) from generate_series(1, 40) g");
      ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
      ASSERT_EQ(PQntuples(r), 40);
      EXPECT_EQ(std::strlen(PQgetvalue(r, 39, 0)), 50040U);
      PQclear(r);
    }
    PQfinish(c);
  });
}

// A fiber cancelled while it waits in PQexec: NULL with errno ECANCELED, promptly; the
// connection stays usable (the next PQexec discards the abandoned query's results).
TEST(PgCompat, CancelledFiberGetsNullAndEcanceled) {
  balrog::run([] {
    PGconn* c = compat::PQconnectdb(pg_cluster::conninfo().c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK);
    int err = 0;
    PGresult* got = reinterpret_cast<PGresult*>(1);
    auto waiter = balrog::spawn([&] {
      got = compat::PQexec(c, "select pg_sleep(30)");
      err = errno;
    });
    balrog::this_fiber::sleep_for(200ms);
    const auto start = steady::now();
    waiter.cancel();
    waiter.join();
    EXPECT_LT(steady::now() - start, 1s);
    EXPECT_EQ(got, nullptr);
    EXPECT_EQ(err, ECANCELED);
    PGcancel* cancel = PQgetCancel(c);
    char errbuf[256] = {};
    EXPECT_EQ(compat::PQcancel(cancel, errbuf, sizeof errbuf), 1) << errbuf;
    PQfreeCancel(cancel);
    PGresult* r = compat::PQexec(c, "select 'still here'");
    ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(c);
    EXPECT_EQ(value(r), "still here");
    PQclear(r);
    EXPECT_EQ(PQisnonblocking(c), 0);
    PQfinish(c);
  });
}

// A deadline_scope bounds a compat wait: NULL with ETIMEDOUT. A connection the application put
// in non-blocking mode stays so, and the compat calls still wait for their results.
TEST(PgCompat, DeadlineScopeAndApplicationNonblockingMode) {
  balrog::run([] {
    PGconn* c = compat::PQconnectdb(pg_cluster::conninfo().c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK);
    {
      balrog::deadline_scope limit(balrog::deadline(200ms));
      const auto start = steady::now();
      EXPECT_EQ(compat::PQexec(c, "select pg_sleep(30)"), nullptr);
      EXPECT_EQ(errno, ETIMEDOUT);
      EXPECT_LT(steady::now() - start, 2s);
    }
    PGcancel* cancel = PQgetCancel(c);
    char errbuf[256] = {};
    EXPECT_EQ(compat::PQcancel(cancel, errbuf, sizeof errbuf), 1) << errbuf;
    PQfreeCancel(cancel);

    ASSERT_EQ(PQsetnonblocking(c, 1), 0);
    PGresult* r = compat::PQexec(c, "select 'nonblocking'");
    ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(c);
    EXPECT_EQ(value(r), "nonblocking");
    PQclear(r);
    r = compat::PQexec(c, "create temp table t (x text)");
    PQclear(r);
    r = compat::PQexec(c, "copy t from stdin");
    ASSERT_EQ(PQresultStatus(r), PGRES_COPY_IN);
    PQclear(r);
    std::string big(200000, 'y');
    big += "\n";
    int put = 0;
    while ((put = compat::PQputCopyData(c, big.data(), static_cast<int>(big.size()))) == 0) {
      balrog::this_fiber::yield();  // libpq's non-blocking contract: 0 means "try again"
    }
    EXPECT_EQ(put, 1);
    int ended = 0;
    while ((ended = compat::PQputCopyEnd(c, nullptr)) == 0) balrog::this_fiber::yield();
    EXPECT_EQ(ended, 1);
    r = compat::PQgetResult(c);
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
    EXPECT_EQ(compat::PQgetResult(c), nullptr);
    EXPECT_EQ(PQisnonblocking(c), 1);
    PQfinish(c);
  });
}

// On a connection in blocking mode, libpq's PQsendQueryParams and PQpipelineSync block the
// thread until the message is sent: 16 MB behind a statement that keeps the server busy is
// half a second of a frozen shard. The compat twins let the other fibers run meanwhile.
TEST(PgCompat, SendingCallsDoNotBlockTheThread) {
  balrog::run([] {
    PGconn* c = compat::PQconnectdb(pg_cluster::conninfo().c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK);
    ASSERT_EQ(PQisnonblocking(c), 0);
    int ticks = 0;
    bool stop = false;
    auto ticker = balrog::spawn([&] {
      while (!stop) {
        balrog::this_fiber::sleep_for(10ms);
        ++ticks;
      }
    });
    ASSERT_EQ(PQenterPipelineMode(c), 1);
    ASSERT_EQ(compat::PQsendQueryParams(c, "select pg_sleep(0.5)", 0, nullptr, nullptr, nullptr,
                                        nullptr, 0),
              1);
    const std::string big(16 << 20, 'x');
    const char* values[] = {big.c_str()};
    const int before = ticks;
    ASSERT_EQ(compat::PQsendQueryParams(c, "select length($1::text)", 1, nullptr, values, nullptr,
                                        nullptr, 0),
              1);
    ASSERT_EQ(compat::PQpipelineSync(c), 1);
    EXPECT_GE(ticks - before, 10) << "the thread was blocked while the message waited";
    EXPECT_EQ(PQisnonblocking(c), 0);  // the application's mode is kept
    std::vector<std::string> got;
    for (;;) {
      PGresult* r = compat::PQgetResult(c);
      if (r == nullptr) continue;  // between the statements' results
      const ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_TUPLES_OK) got.push_back(value(r));
      PQclear(r);
      if (st == PGRES_PIPELINE_SYNC) break;
    }
    EXPECT_EQ(got, (std::vector<std::string>{"", std::to_string(16 << 20)}));
    EXPECT_EQ(PQexitPipelineMode(c), 1);
    stop = true;
    ticker.join();
    PQfinish(c);
  });
}

// Large objects from 30 sessions at once on one thread: each lo_* call runs on the offload
// pool while its fiber waits.
TEST(PgCompat, LargeObjectsOnConcurrentFibers) {
  balrog::run([] {
    std::atomic<int> ok{0};
    std::vector<balrog::fiber<void>> sessions;
    for (int i = 0; i < 30; ++i) {
      sessions.push_back(balrog::spawn([&, i] {
        PGconn* c = compat::PQconnectdb(pg_cluster::conninfo().c_str());
        PQclear(compat::PQexec(c, "begin"));
        const Oid lo = compat::lo_creat(c, INV_READ | INV_WRITE);
        const int fd = compat::lo_open(c, lo, INV_READ | INV_WRITE);
        const std::string data(200'000 + i, static_cast<char>('a' + i % 26));
        const bool written =
            compat::lo_write(c, fd, data.data(), data.size()) == static_cast<int>(data.size());
        compat::lo_lseek64(c, fd, 0, SEEK_SET);
        std::string back(data.size(), '\0');
        const int n = compat::lo_read(c, fd, back.data(), back.size());
        compat::lo_close(c, fd);
        compat::lo_unlink(c, lo);
        PQclear(compat::PQexec(c, "commit"));
        if (written && n == static_cast<int>(data.size()) && back == data) ++ok;
        PQfinish(c);
      }));
    }
    for (auto& s : sessions) s.join();
    EXPECT_EQ(ok, 30);
  });
}

// --- Differential: the same script through libpq (plain thread) and compat (fibers) ---------

namespace {

struct api {
  PGconn* (*connectdb)(const char*);
  PGresult* (*exec)(PGconn*, const char*);
  PGresult* (*exec_params)(PGconn*, const char*, int, const Oid*, const char* const*, const int*,
                           const int*, int);
  PGresult* (*prepare)(PGconn*, const char*, const char*, int, const Oid*);
  PGresult* (*exec_prepared)(PGconn*, const char*, int, const char* const*, const int*, const int*,
                             int);
  PGresult* (*describe_prepared)(PGconn*, const char*);
  PGresult* (*describe_portal)(PGconn*, const char*);
  PGresult* (*get_result)(PGconn*);
  int (*put_copy_data)(PGconn*, const char*, int);
  int (*put_copy_end)(PGconn*, const char*);
  int (*get_copy_data)(PGconn*, char**, int);
  PGPing (*ping)(const char*);
  int (*send_query)(PGconn*, const char*);
  int (*send_query_params)(PGconn*, const char*, int, const Oid*, const char* const*, const int*,
                           const int*, int);
  int (*pipeline_sync)(PGconn*);
  int (*flush)(PGconn*);
  int (*set_client_encoding)(PGconn*, const char*);
  PGresult* (*fn)(PGconn*, int, int*, int*, int, const PQArgBlock*, int);
  Oid (*lo_create)(PGconn*, Oid);
  int (*lo_open)(PGconn*, Oid, int);
  int (*lo_write)(PGconn*, int, const char*, size_t);
  int (*lo_lseek)(PGconn*, int, int, int);
  int (*lo_read)(PGconn*, int, char*, size_t);
  pg_int64 (*lo_tell64)(PGconn*, int);
  int (*lo_truncate)(PGconn*, int, size_t);
  int (*lo_close)(PGconn*, int);
  int (*lo_unlink)(PGconn*, Oid);
};

const api libpq{::PQconnectdb,
                ::PQexec,
                ::PQexecParams,
                ::PQprepare,
                ::PQexecPrepared,
                ::PQdescribePrepared,
                ::PQdescribePortal,
                ::PQgetResult,
                ::PQputCopyData,
                ::PQputCopyEnd,
                ::PQgetCopyData,
                ::PQping,
                ::PQsendQuery,
                ::PQsendQueryParams,
                ::PQpipelineSync,
                ::PQflush,
                ::PQsetClientEncoding,
                ::PQfn,
                ::lo_create,
                ::lo_open,
                ::lo_write,
                ::lo_lseek,
                ::lo_read,
                ::lo_tell64,
                ::lo_truncate,
                ::lo_close,
                ::lo_unlink};
const api balrog_compat{compat::PQconnectdb,
                        compat::PQexec,
                        compat::PQexecParams,
                        compat::PQprepare,
                        compat::PQexecPrepared,
                        compat::PQdescribePrepared,
                        compat::PQdescribePortal,
                        compat::PQgetResult,
                        compat::PQputCopyData,
                        compat::PQputCopyEnd,
                        compat::PQgetCopyData,
                        compat::PQping,
                        compat::PQsendQuery,
                        compat::PQsendQueryParams,
                        compat::PQpipelineSync,
                        compat::PQflush,
                        compat::PQsetClientEncoding,
                        compat::PQfn,
                        compat::lo_create,
                        compat::lo_open,
                        compat::lo_write,
                        compat::lo_lseek,
                        compat::lo_read,
                        compat::lo_tell64,
                        compat::lo_truncate,
                        compat::lo_close,
                        compat::lo_unlink};

std::string describe(PGconn* c, PGresult* r) {
  std::string s;
  if (r == nullptr) {
    s = "NULL";
  } else {
    s = std::string(PQresStatus(PQresultStatus(r))) + " sqlstate=" + sqlstate(r) +
        " cmd=" + PQcmdStatus(r) + " tuples=" + PQcmdTuples(r) + " err=[" +
        PQresultErrorMessage(r) + "]";
    s += " nparams=" + std::to_string(PQnparams(r));
    for (int f = 0; f < PQnfields(r); ++f) {
      const char* name = PQfname(r, f);  // COPY results have columns without names
      s += " field=" + std::string(name != nullptr ? name : "-") + ":" +
           std::to_string(PQftype(r, f)) + ":" + std::to_string(PQfformat(r, f));
    }
    for (int row = 0; row < PQntuples(r); ++row) {
      for (int f = 0; f < PQnfields(r); ++f) s += " " + value(r, row, f);
    }
    PQclear(r);
  }
  return s + " | status=" + std::to_string(PQstatus(c)) +
         " tx=" + std::to_string(PQtransactionStatus(c)) + " conn-err=[" + PQerrorMessage(c) +
         "]\n";
}

std::string drain(const api& a, PGconn* c) {
  std::string s;
  for (PGresult* r = a.get_result(c); r != nullptr; r = a.get_result(c)) s += describe(c, r);
  return s + "end of results\n";
}

std::string script(const api& a, const std::string& ci) {
  std::string t;
  const auto connect_report = [&](const std::string& info) {
    PGconn* c = a.connectdb(info.c_str());
    t += "connect " + info + ": status=" + std::to_string(PQstatus(c)) + " err=[" +
         PQerrorMessage(c) + "]\n";
    PQfinish(c);
  };
  connect_report("host=127.0.0.1 port=1");
  connect_report("host=/nonexistent/dir port=5432");
  connect_report(ci + " dbname=no_such_database");
  connect_report("port=notanumber");
  connect_report("nonsense");
  t += "ping ok=" + std::to_string(a.ping(ci.c_str())) +
       " refused=" + std::to_string(a.ping("host=127.0.0.1 port=1")) +
       " bad=" + std::to_string(a.ping("nonsense")) + "\n";

  PGconn* c = a.connectdb(ci.c_str());
  t += describe(c, a.exec(c, "select 1 as one, null::text as nothing, 'x'"));
  t += describe(c, a.exec(c, "selec 1"));
  t += describe(c, a.exec(c, "select 1/0"));
  t += describe(c, a.exec(c, "select 1; select 2 as two"));
  t += describe(c, a.exec(c, "select 1; select 1/0; select 3"));
  t += describe(c, a.exec(c, ""));
  t += describe(c, a.exec(c, nullptr));
  t += describe(c, a.exec(c, "do $$ begin raise notice 'hi'; raise warning 'careful'; end $$"));
  const char* params[] = {"5", nullptr, "abc"};
  t += describe(c, a.exec_params(c, "select $1::int + 1, $2::int, $3", 3, nullptr, params, nullptr,
                                 nullptr, 0));
  t += describe(c, a.exec_params(c, "select $1::int", 1, nullptr, params + 2, nullptr, nullptr, 0));
  t += describe(c, a.exec_params(c, "select 1", 70000, nullptr, nullptr, nullptr, nullptr, 0));
  t += describe(c, a.prepare(c, "s1", "select $1::text || '!' as shout", 1, nullptr));
  t += describe(c, a.prepare(c, "s1", "select 2", 0, nullptr));
  t += describe(c, a.exec_prepared(c, "s1", 1, params + 2, nullptr, nullptr, 0));
  t += describe(c, a.exec_prepared(c, "missing", 0, nullptr, nullptr, nullptr, 0));
  t += describe(c, a.describe_prepared(c, "s1"));
  t += describe(c, a.describe_prepared(c, "missing"));
  t += describe(c, a.exec(c, "begin"));
  t += describe(c, a.exec(c, "declare cur cursor for select 1 as a, 'b' as b"));
  t += describe(c, a.describe_portal(c, "cur"));
  t += describe(c, a.describe_portal(c, "nocur"));
  t += describe(c, a.exec(c, "select 1"));  // the transaction is aborted
  t += describe(c, a.exec(c, "rollback"));

  // Unread results are discarded by the next PQexec.
  t += "send=" + std::to_string(a.send_query(c, "select 'unread'; select 'unread too'")) + "\n";
  t += describe(c, a.exec(c, "select 'after'"));
  t += "send=" + std::to_string(a.send_query(c, "select 'a'; selec; select 'c'")) + "\n";
  t += drain(a, c);
  t += "send busy=" + std::to_string(a.send_query(c, "select 1"));
  t += " then " + std::to_string(a.send_query(c, "select 2"));
  t += " err=[" + std::string(PQerrorMessage(c)) + "]\n";
  t += drain(a, c);
  t += "send null=" + std::to_string(a.send_query(c, nullptr));
  t += " err=[" + std::string(PQerrorMessage(c)) + "]\n";
  t += "flush=" + std::to_string(a.flush(c)) + "\n";

  // Client encodings: a good one, a bad one, back.
  t += "encoding=" + std::to_string(a.set_client_encoding(c, "LATIN1"));
  t += std::string(" now ") + pg_encoding_to_char(PQclientEncoding(c)) + "\n";
  t += "encoding=" + std::to_string(a.set_client_encoding(c, "NO_SUCH_ENCODING"));
  t += " err=[" + std::string(PQerrorMessage(c)) + "] now " +
       pg_encoding_to_char(PQclientEncoding(c)) + "\n";
  t += "encoding=" + std::to_string(a.set_client_encoding(c, "UTF8")) + "\n";

  // Large objects (fixed OIDs: both runs make the same ones) and the fast-path call.
  t += describe(c, a.exec(c, "begin"));
  const Oid lo = a.lo_create(c, 4242420);
  t += "lo_create=" + std::to_string(lo) + "\n";
  const int fd = a.lo_open(c, lo, INV_READ | INV_WRITE);
  const std::string blob(100000, 'b');
  t += "lo_write=" + std::to_string(a.lo_write(c, fd, blob.data(), blob.size())) + "\n";
  t += "lo_lseek=" + std::to_string(a.lo_lseek(c, fd, 99990, SEEK_SET)) + "\n";
  char tail[64] = {};
  t += "lo_read=" + std::to_string(a.lo_read(c, fd, tail, sizeof tail));
  t += std::string(" ") + tail + "\n";
  t += "lo_tell64=" + std::to_string(a.lo_tell64(c, fd)) + "\n";
  t += "lo_truncate=" + std::to_string(a.lo_truncate(c, fd, 10)) + "\n";
  t += "lo_close=" + std::to_string(a.lo_close(c, fd)) + "\n";
  t += "lo_open missing=" + std::to_string(a.lo_open(c, 4242421, INV_READ));
  t += " err=[" + std::string(PQerrorMessage(c)) + "]\n";
  t += describe(c, a.exec(c, "rollback"));
  t += describe(c, a.exec(c, "begin"));
  t += "lo_create again=" + std::to_string(a.lo_create(c, 4242420)) + "\n";
  t += "lo_unlink=" + std::to_string(a.lo_unlink(c, 4242420)) + "\n";
  t += describe(c, a.exec(c, "commit"));
  {
    PGresult* oid = a.exec(c, "select 'int4abs'::regproc::oid");
    const int abs_fn = std::atoi(PQgetvalue(oid, 0, 0));
    PQclear(oid);
    PQArgBlock arg{};
    arg.len = 4;
    arg.isint = 1;
    arg.u.integer = -17;
    int out = 0;
    int out_len = 0;
    t += "fn: " + describe(c, a.fn(c, abs_fn, &out, &out_len, 1, &arg, 1));
    t += "fn=" + std::to_string(out) + " len=" + std::to_string(out_len) + "\n";
  }

  // Pipeline mode through the sending calls.
  t += "pipeline=" + std::to_string(PQenterPipelineMode(c)) + "\n";
  const char* seven[] = {"7"};
  t += "send=" +
       std::to_string(
           a.send_query_params(c, "select $1::int * 2", 1, nullptr, seven, nullptr, nullptr, 0)) +
       "\n";
  t += "send=" +
       std::to_string(
           a.send_query_params(c, "select 1/0", 0, nullptr, nullptr, nullptr, nullptr, 0)) +
       "\n";
  t += "send=" +
       std::to_string(
           a.send_query_params(c, "select 'skipped'", 0, nullptr, nullptr, nullptr, nullptr, 0)) +
       "\n";
  t += "sync=" + std::to_string(a.pipeline_sync(c)) + "\n";
  t += "send=" +
       std::to_string(a.send_query_params(c, "select 'after sync'", 0, nullptr, nullptr, nullptr,
                                          nullptr, 0)) +
       "\n";
  t += "sync=" + std::to_string(a.pipeline_sync(c)) + "\n";
  for (int syncs = 0; syncs < 2;) {
    PGresult* r = a.get_result(c);
    if (r != nullptr && PQresultStatus(r) == PGRES_PIPELINE_SYNC) ++syncs;
    t += describe(c, r);
  }
  t += "exit=" + std::to_string(PQexitPipelineMode(c)) + "\n";

  // COPY: a good load, a bad row, COPY OUT, and PQexec ending a COPY IN and a COPY OUT.
  t += describe(c, a.exec(c, "create temp table t (id int primary key, name text)"));
  t += describe(c, a.exec(c, "copy t from stdin"));
  t += "put=" + std::to_string(a.put_copy_data(c, "1\tone\n2\ttwo\n", 12)) + "\n";
  t += "end=" + std::to_string(a.put_copy_end(c, nullptr)) + "\n";
  t += drain(a, c);
  t += describe(c, a.exec(c, "copy t from stdin"));
  t += "put=" + std::to_string(a.put_copy_data(c, "3\tthree\nfour\tfour\n", 18)) + "\n";
  t += "end=" + std::to_string(a.put_copy_end(c, nullptr)) + "\n";
  t += drain(a, c);
  t += describe(c, a.exec(c, "copy t from stdin"));
  t += "put=" + std::to_string(a.put_copy_data(c, "5\tfive\n", 7)) + "\n";
  t += "end=" + std::to_string(a.put_copy_end(c, "client gave up")) + "\n";
  t += drain(a, c);
  t += describe(c, a.exec(c, "copy t to stdout"));
  for (;;) {
    char* buf = nullptr;
    const int n = a.get_copy_data(c, &buf, 0);
    t += "row " + std::to_string(n) +
         (n > 0 ? ": " + std::string(buf, static_cast<std::size_t>(n)) : "\n");
    if (n > 0) PQfreemem(buf);
    if (n < 0) break;
  }
  t += drain(a, c);
  t += describe(c, a.exec(c, "copy t from stdin"));
  t += describe(c, a.exec(c, "select count(*) from t"));  // ends the COPY IN
  t += describe(c, a.exec(c, "copy t to stdout"));
  t += describe(c, a.exec(c, "select count(*) from t"));  // ends the COPY OUT
  t += "put outside copy=" + std::to_string(a.put_copy_data(c, "x", 1)) + " err=[" +
       PQerrorMessage(c) + "]\n";
  t += "end outside copy=" + std::to_string(a.put_copy_end(c, nullptr)) + " err=[" +
       PQerrorMessage(c) + "]\n";
  char* buf = nullptr;
  t += "get outside copy=" + std::to_string(a.get_copy_data(c, &buf, 0)) + " err=[" +
       PQerrorMessage(c) + "]\n";

  // Pipeline mode: PQexec is refused.
  t += "pipeline=" + std::to_string(PQenterPipelineMode(c)) + "\n";
  t += describe(c, a.exec(c, "select 1"));
  t += "exit=" + std::to_string(PQexitPipelineMode(c)) + "\n";

  // The server ends the session: the error, then a dead connection.
  PGconn* killer = ::PQconnectdb(ci.c_str());
  const std::string kill = "select pg_terminate_backend(" + std::to_string(PQbackendPID(c)) + ")";
  PQclear(::PQexec(killer, kill.c_str()));
  PQfinish(killer);
  balrog::this_fiber::sleep_for(200ms);  // let the backend go (blocks the thread in sync mode)
  t += describe(c, a.exec(c, "select 1"));
  t += describe(c, a.exec(c, "select 1"));
  PQfinish(c);
  return t;
}

}  // namespace

class PgCompatDifferential : public ::testing::TestWithParam<bool> {};

TEST_P(PgCompatDifferential, SameResultsAsLibpq) {
  const std::string ci =
      GetParam() ? pg_cluster::tcp_conninfo() + " sslmode=require" : pg_cluster::conninfo();
  std::string with_libpq;
  std::thread plain([&] { with_libpq = script(libpq, ci); });
  plain.join();
  std::string with_compat;
  balrog::run([&] { with_compat = script(balrog_compat, ci); });
  EXPECT_EQ(with_libpq, with_compat);
  // The script really ran (and the comparison is not between two empty strings).
  EXPECT_NE(with_libpq.find("division by zero"), std::string::npos);
  EXPECT_NE(with_libpq.find("client gave up"), std::string::npos) << with_libpq;
  EXPECT_NE(with_libpq.find("lo_read=10 bbbbbbbbbb"), std::string::npos) << with_libpq;
  EXPECT_NE(with_libpq.find("fn=17 len=4"), std::string::npos) << with_libpq;
  EXPECT_NE(with_libpq.find("after sync"), std::string::npos) << with_libpq;
  EXPECT_NE(with_libpq.find("encoding=-1"), std::string::npos) << with_libpq;
}

INSTANTIATE_TEST_SUITE_P(PgCompat, PgCompatDifferential, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return std::string(i.param ? "Tls" : "UnixSocket");
                         });
