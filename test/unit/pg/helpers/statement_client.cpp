// A client process for pgbouncer_test's two-process check (review C6 d): behind PgBouncer in
// transaction mode, several client connections share server connections, so a named prepared
// statement made by one client can be found by another. Each process runs its own statement
// texts through the driver's statement cache and checks every answer. The statements insert
// into c6d(role, k, v), so a statement run with another process's parameters leaves a row that
// the test finds (even when its result was replaced by an error and the driver retried).
//
//   pg_statement_client CONNINFO ROLE ROUNDS
//
// ROLE 0 and 1 use different texts (with the same parameter types). Exit status 0 when every
// answer was right; 1, with the first wrong answer on stderr, otherwise; 2 on bad arguments.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/fiber.hpp"
#include "balrog/pg/pool.hpp"
#include "balrog/run.hpp"

namespace pg = balrog::pg;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s CONNINFO ROLE ROUNDS\n", argv[0]);
    return 2;
  }
  const std::string conninfo = argv[1];
  const int role = std::atoi(argv[2]);
  const int rounds = std::atoi(argv[3]);
  // Different texts in each process, used in the same order, so that the driver's names for
  // them would collide if they were counters.
  constexpr int texts = 16;
  auto text_of = [role](int k) {
    return "insert into c6d values (" + std::to_string(role) + ", " + std::to_string(k) +
           ", $1::int) returning v";
  };
  int wrong = 0;
  std::string first_wrong;
  balrog::run([&] {
    auto pool = balrog::await(pg::pool::create(conninfo, {.max_size = 8}));
    std::vector<balrog::fiber<void>> fibers;
    for (int f = 0; f < 8; ++f) {
      fibers.push_back(balrog::spawn([&, f] {
        auto conn = balrog::await(pool.acquire());
        for (int i = 0; i < rounds; ++i) {
          const int v = role * 1'000'000 + f * 10000 + i;
          const int k = i % texts;
          try {
            const int got = balrog::await(conn->query(text_of(k), v)).scalar<int>();
            if (got != v && wrong++ == 0) {
              first_wrong =
                  text_of(k) + " with " + std::to_string(v) + " returned " + std::to_string(got);
            }
          } catch (const std::exception& e) {
            if (wrong++ == 0) first_wrong = text_of(k) + " failed: " + e.what();
          }
        }
      }));
    }
    for (auto& fib : fibers) fib.join();
  });
  if (wrong > 0) {
    std::fprintf(stderr, "role %d: %d wrong answers; first: %s\n", role, wrong,
                 first_wrong.c_str());
    return 1;
  }
  return 0;
}
