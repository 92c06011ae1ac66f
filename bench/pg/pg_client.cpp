// bench_pg_client — one measured run of a Postgres client, driven by bench/pg/pg_bench.py.
//
//   bench_pg_client --mode balrog|balrog-sync|libpq --conninfo "host=... port=..." --query
//   select1|pk
//                   --clients N [--connections M] [--pipeline 0|1] [--statement-cache N]
//                   [--warm-up S] [--seconds S]
//
// Modes:
//  balrog  one thread (balrog::run), N fibers in closed loops, each doing blocking-style
//          `balrog::await(conn.query...)`. With M == N (the default) every fiber has its own
//          pg::connection; with M == 1 all N fibers share one connection, pipelined by default
//          (connect_options::pipeline; --pipeline 0: statements take turns).
//  balrog-sync  N std::threads with no balrog::run, each with its own pg::connection, calling
//          the generated blocking API (balrog/pg/generated/blocking.hpp): every query is a
//          sync-mode await, i.e. block_on on the thread's private scheduler.
//  libpq   N std::threads, each with its own blocking PGconn: PQprepare once, then
//          PQexecPrepared in a loop (the "plain sync libpq" program).
// Queries (all modes prepare them server-side, as pgbench -M prepared does):
//  select1 `SELECT 1`: balrog and balrog-sync use connection::prepare + query_prepared (a
//  parameterless
//          query() is never cached, so query("SELECT 1") would parse it every time).
//  pk      `SELECT abalance FROM pgbench_accounts WHERE aid = $1`, aid uniform in 1..100,000:
//          balrog and balrog-sync use the ordinary query(sql, aid), which its statement cache
//          prepares on the second use.
//
// All clients connect and prepare first; then the program runs --warm-up seconds, counts the
// queries completed in the next --seconds, and prints one line:
//   "queries Q seconds S cpu_s C connect_s X"
// cpu_s is this process's user + system CPU time (getrusage RUSAGE_SELF) over the counted
// window only; the driver also takes the whole process's CPU from wait4.
#include <libpq-fe.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/generated/blocking.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/wait_group.hpp"
#include "balrog/this_fiber.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;
namespace pg = balrog::pg;

constexpr const char* select1_sql = "SELECT 1";
constexpr const char* pk_sql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
constexpr int accounts = 100'000;  // pgbench -i -s 1

struct config {
  std::string mode = "balrog";
  std::string conninfo;
  std::string query = "select1";
  int clients = 1;
  int connections = 0;  // 0: one per client
  bool pipeline = true;
  long statement_cache = -1;  // -1: the driver's default
  double warm_up_s = 0.3;
  double seconds = 2.0;
};

config parse(const std::vector<std::string>& rest) {
  config c;
  for (std::size_t i = 0; i + 1 < rest.size(); i += 2) {
    const std::string& k = rest[i];
    const std::string& v = rest[i + 1];
    if (k == "--mode") {
      c.mode = v;
    } else if (k == "--conninfo") {
      c.conninfo = v;
    } else if (k == "--query") {
      c.query = v;
    } else if (k == "--clients") {
      c.clients = std::atoi(v.c_str());
    } else if (k == "--connections") {
      c.connections = std::atoi(v.c_str());
    } else if (k == "--pipeline") {
      c.pipeline = v != "0";
    } else if (k == "--statement-cache") {
      c.statement_cache = std::atol(v.c_str());
    } else if (k == "--warm-up") {
      c.warm_up_s = std::atof(v.c_str());
    } else if (k == "--seconds") {
      c.seconds = std::atof(v.c_str());
    } else {
      throw std::runtime_error("unknown option " + k);
    }
  }
  if (rest.size() % 2 != 0) throw std::runtime_error("option without a value: " + rest.back());
  if (c.connections <= 0) c.connections = c.clients;
  if (c.clients < 1 || c.conninfo.empty()) throw std::runtime_error("need --clients, --conninfo");
  if (c.query != "select1" && c.query != "pk") throw std::runtime_error("bad --query");
  return c;
}

double cpu_now() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A small per-client generator for aid (xorshift64*), so clients do not share state.
struct rng {
  std::uint64_t s;
  int next_aid() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<int>(((s * 2685821657736338717ULL) >> 33) % accounts) + 1;
  }
};

struct window {
  std::uint64_t queries = 0;
  double seconds = 0;
  double cpu_s = 0;
  double connect_s = 0;
};

void print(const window& w) {
  std::printf("%s\n", format_record({{"queries", static_cast<double>(w.queries)},
                                     {"seconds", w.seconds},
                                     {"cpu_s", w.cpu_s},
                                     {"connect_s", w.connect_s}})
                          .c_str());
  std::fflush(stdout);
}

// Takes the counted window: warm-up, snapshot, measure, snapshot. `sleep` blocks the caller
// (a fiber or the main thread), `count` reads the completed queries so far.
template <class Sleep, class Count>
window measure(const config& c, Sleep&& sleep, Count&& count) {
  sleep(c.warm_up_s);
  const std::uint64_t q0 = count();
  const double cpu0 = cpu_now();
  const std::int64_t t0 = now_ns();
  sleep(c.seconds);
  const std::uint64_t q1 = count();
  const double cpu1 = cpu_now();
  const std::int64_t t1 = now_ns();
  window w;
  w.queries = q1 - q0;
  w.seconds = static_cast<double>(t1 - t0) / 1e9;
  w.cpu_s = cpu1 - cpu0;
  return w;
}

// --- balrog: fibers on one thread ----------------------------------------------------------

window run_balrog(const config& c) {
  return balrog::run([&c] {
    pg::connect_options opts;
    opts.pipeline = c.pipeline;
    if (c.statement_cache >= 0) opts.statement_cache = static_cast<std::size_t>(c.statement_cache);
    const std::int64_t t_connect = now_ns();
    std::vector<pg::connection> conns;
    conns.reserve(static_cast<std::size_t>(c.connections));
    {
      // Connect concurrently (one fiber per connection), as a server warming up would.
      std::vector<std::unique_ptr<pg::connection>> slots(static_cast<std::size_t>(c.connections));
      balrog::wait_group connected;
      for (std::size_t i = 0; i < slots.size(); ++i) {
        connected.add();
        balrog::spawn([&, i] {
          auto conn = balrog::await(pg::connection::connect(c.conninfo, opts));
          if (c.query == "select1") (void)balrog::await(conn.prepare("s1", select1_sql));
          slots[i] = std::make_unique<pg::connection>(std::move(conn));
          connected.done();
        }).detach();
      }
      connected.wait();
      for (auto& s : slots) conns.push_back(std::move(*s));
    }
    const double connect_s = static_cast<double>(now_ns() - t_connect) / 1e9;

    std::uint64_t completed = 0;  // one thread: no atomics needed
    bool stop = false;
    std::uint64_t checksum = 0;
    balrog::wait_group finished;
    const bool select1 = c.query == "select1";
    for (int f = 0; f < c.clients; ++f) {
      finished.add();
      pg::connection* conn = &conns[static_cast<std::size_t>(f % c.connections)];
      balrog::spawn([&, f, conn] {
        rng r{0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(f + 1)};
        while (!stop) {
          if (select1) {
            const pg::result res = balrog::await(conn->query_prepared("s1"));
            checksum += res[0][0].raw().size();
          } else {
            const int aid = r.next_aid();
            const pg::result res = balrog::await(conn->query(pk_sql, aid));
            checksum += res[0][0].raw().size();
          }
          ++completed;
        }
        finished.done();
      }).detach();
    }
    window w = measure(
        c, [](double s) { balrog::this_fiber::sleep_for(std::chrono::duration<double>(s)); },
        [&] { return completed; });
    stop = true;
    finished.wait();
    do_not_optimize(checksum);
    w.connect_s = connect_s;
    return w;
  });
}

// --- libpq and balrog-sync: one blocking connection per plain thread -----------------------

struct alignas(64) padded_counter {
  std::atomic<std::uint64_t> n{0};
};

// N plain threads; thread t calls `client(t, stop, failed, ready, count_one)`, which connects,
// prepares, calls ready() once, then runs queries until `stop` or `failed` (another thread's
// failure), calling count_one() after each, and returns false if it failed.
template <class Client>
window run_threads(const config& c, Client&& client) {
  if (c.connections != c.clients) throw std::runtime_error("one connection per thread");
  const auto n = static_cast<std::size_t>(c.clients);
  std::vector<padded_counter> counters(n);
  std::atomic<int> ready{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  const std::int64_t t_connect = now_ns();
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      bool signalled = false;
      auto signal_ready = [&] {
        if (!signalled) ready.fetch_add(1);
        signalled = true;
      };
      try {
        if (!client(t, stop, failed, signal_ready,
                    [&] { counters[t].n.fetch_add(1, std::memory_order_relaxed); })) {
          failed = true;
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s client: %s\n", c.mode.c_str(), e.what());
        failed = true;
      }
      signal_ready();
    });
  }
  while (ready.load() < c.clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double connect_s = static_cast<double>(now_ns() - t_connect) / 1e9;
  window w = measure(
      c, [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); },
      [&] {
        std::uint64_t sum = 0;
        for (auto& k : counters) sum += k.n.load(std::memory_order_relaxed);
        return sum;
      });
  stop = true;
  for (auto& th : threads) th.join();
  if (failed) throw std::runtime_error("a " + c.mode + " client failed");
  w.connect_s = connect_s;
  return w;
}

window run_libpq(const config& c) {
  const bool select1 = c.query == "select1";
  return run_threads(c, [&](std::size_t t, const std::atomic<bool>& stop,
                            const std::atomic<bool>& failed, auto&& ready, auto&& count_one) {
    PGconn* conn = PQconnectdb(c.conninfo.c_str());
    PGresult* prep = nullptr;
    if (PQstatus(conn) == CONNECTION_OK) {
      prep = PQprepare(conn, "s1", select1 ? select1_sql : pk_sql, select1 ? 0 : 1, nullptr);
    }
    bool ok = true;
    if (prep == nullptr || PQresultStatus(prep) != PGRES_COMMAND_OK) {
      std::fprintf(stderr, "libpq client: %s", PQerrorMessage(conn));
      ok = false;
    }
    PQclear(prep);
    ready();
    rng r{0x9e3779b97f4a7c15ULL * (t + 1)};
    std::uint64_t checksum = 0;
    char aid_text[16];
    const char* values[1] = {aid_text};
    while (ok && !failed.load(std::memory_order_relaxed) && !stop.load(std::memory_order_relaxed)) {
      PGresult* res;
      if (select1) {
        res = PQexecPrepared(conn, "s1", 0, nullptr, nullptr, nullptr, 0);
      } else {
        std::snprintf(aid_text, sizeof aid_text, "%d", r.next_aid());
        res = PQexecPrepared(conn, "s1", 1, values, nullptr, nullptr, 0);
      }
      if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        std::fprintf(stderr, "libpq client: %s", PQerrorMessage(conn));
        ok = false;
      } else {
        checksum += static_cast<std::uint64_t>(PQgetlength(res, 0, 0));
      }
      PQclear(res);
      count_one();
    }
    do_not_optimize(checksum);
    PQfinish(conn);
    return ok;
  });
}

// Sync mode: no balrog::run anywhere; every blocking:: call below is balrog::await on a plain
// thread, which runs the awaitable on the thread's private (cached) scheduler.
window run_sync(const config& c) {
  const bool select1 = c.query == "select1";
  return run_threads(c, [&](std::size_t t, const std::atomic<bool>& stop,
                            const std::atomic<bool>& failed, auto&& ready, auto&& count_one) {
    pg::connect_options opts;
    if (c.statement_cache >= 0) opts.statement_cache = static_cast<std::size_t>(c.statement_cache);
    pg::connection conn = pg::blocking::connect(c.conninfo, opts);
    if (select1) (void)pg::blocking::prepare(conn, "s1", select1_sql);
    ready();
    rng r{0x9e3779b97f4a7c15ULL * (t + 1)};
    std::uint64_t checksum = 0;
    while (!failed.load(std::memory_order_relaxed) && !stop.load(std::memory_order_relaxed)) {
      if (select1) {
        const pg::result res = pg::blocking::query_prepared(conn, "s1");
        checksum += res[0][0].raw().size();
      } else {
        const pg::result res = pg::blocking::query(conn, pk_sql, r.next_aid());
        checksum += res[0][0].raw().size();
      }
      count_one();
    }
    do_not_optimize(checksum);
    return true;
  });
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    const config c = parse(opt.rest);
    if (c.mode == "balrog") {
      print(run_balrog(c));
    } else if (c.mode == "balrog-sync") {
      print(run_sync(c));
    } else if (c.mode == "libpq") {
      print(run_libpq(c));
    } else {
      throw std::runtime_error("bad --mode " + c.mode);
    }
  });
}
