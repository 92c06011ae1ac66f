// The libpq compat layer's C face on a real C program: test/unit/pg/c_session/session.c is a
// plain libpq session written in C, compiled as C twice — as it is, and rewritten to the C face
// (balrog_PQexec...) by balrog-gen (balrog_wrap, test/unit/CMakeLists.txt). 100 rewritten sessions
// run at once on fibers of one thread; each one's transcript must equal the unrewritten program's
// for the same session.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "pg/c_session/session.h"
#include "support/pg_cluster.hpp"

using balrog::test::pg_cluster;

namespace {

constexpr int sessions = 100;
constexpr std::size_t transcript_size = 16384;

}  // namespace

TEST(PgCFace, HundredRewrittenCSessionsOnOneThreadSeeWhatLibpqSees) {
  const std::string conninfo = pg_cluster::conninfo();
  // The unrewritten program on plain threads (ten of them, ten sessions each): libpq itself.
  std::vector<std::string> expected(sessions);
  std::vector<std::thread> threads;
  for (int first = 0; first < sessions; first += 10) {
    threads.emplace_back([&, first] {
      std::vector<char> out(transcript_size);
      for (int id = first; id < first + 10; ++id) {
        EXPECT_EQ(session_plain(conninfo.c_str(), id, out.data(), out.size()), 0) << out.data();
        expected[static_cast<std::size_t>(id)] = out.data();
      }
    });
  }
  for (auto& t : threads) t.join();
  // The rewritten program: 100 sessions at once, on fibers of this thread.
  std::vector<std::string> got(sessions);
  int ended_together = 0;
  balrog::run([&] {
    std::vector<balrog::fiber<void>> fibers;
    int running = 0;
    for (int id = 0; id < sessions; ++id) {
      fibers.push_back(balrog::spawn([&, id] {
        ++running;
        std::vector<char> out(transcript_size);
        EXPECT_EQ(session_balrog(conninfo.c_str(), id, out.data(), out.size()), 0) << out.data();
        got[static_cast<std::size_t>(id)] = out.data();
        ended_together = std::max(ended_together, running--);
      }));
    }
    for (auto& f : fibers) f.join();
  });
  for (int id = 0; id < sessions; ++id) {
    EXPECT_EQ(got[static_cast<std::size_t>(id)], expected[static_cast<std::size_t>(id)])
        << "session " << id;
  }
  EXPECT_GT(ended_together, 10) << "the sessions did not overlap";
  // The transcripts are real (and the comparison not between two empty strings).
  EXPECT_NE(expected[7].find("lo_read 4000 same"), std::string::npos) << expected[7];
  EXPECT_NE(expected[7].find("22012 division by zero"), std::string::npos) << expected[7];
  EXPECT_NE(expected[7].find("row 707\tcopied-7"), std::string::npos) << expected[7];
  EXPECT_NE(expected[7].find("synced"), std::string::npos) << expected[7];
}
