// Shards: spawn_on, no migration, cross-shard synchronization, the SO_REUSEPORT server.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/net.hpp"
#include "balrog/offload.hpp"
#include "balrog/per_shard_server.hpp"
#include "balrog/runtime.hpp"
#include "balrog/sync.hpp"
#include "balrog/task.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;

TEST(Runtime, EachShardIsItsOwnThread) {
  balrog::runtime rt({.threads = 3});
  const auto ids = rt.run([] {
    EXPECT_EQ(balrog::this_shard::count(), 3U);
    EXPECT_EQ(balrog::this_shard::index(), 0U);
    std::vector<balrog::fiber<std::pair<std::size_t, std::thread::id>>> fs;
    for (std::size_t s = 0; s < 3; ++s) {
      fs.push_back(balrog::spawn_on(s, [] {
        return std::pair{balrog::this_shard::index(), std::this_thread::get_id()};
      }));
    }
    std::vector<std::pair<std::size_t, std::thread::id>> out;
    for (auto& f : fs) out.push_back(f.join());
    return out;
  });
  std::set<std::thread::id> threads;
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_EQ(ids[s].first, s);
    threads.insert(ids[s].second);
  }
  EXPECT_EQ(threads.size(), 3U);
}

TEST(Runtime, FibersNeverMigrate) {
  balrog::runtime rt({.threads = 2});
  rt.run([] {
    std::vector<balrog::fiber<bool>> fs;
    for (int i = 0; i < 50; ++i) {
      fs.push_back(balrog::spawn_on(static_cast<std::size_t>(i % 2), [] {
        const auto home = std::this_thread::get_id();
        for (int k = 0; k < 20; ++k) {
          balrog::this_fiber::yield();
          balrog::this_fiber::sleep_for(100us);
          if (std::this_thread::get_id() != home) return false;
        }
        return true;
      }));
    }
    for (auto& f : fs) EXPECT_TRUE(f.join());
  });
}

TEST(Runtime, ReturnsTheMainValueAndRethrows) {
  EXPECT_EQ(balrog::runtime({.threads = 2}).run([] { return 7; }), 7);
  EXPECT_THROW(balrog::runtime({.threads = 2}).run([] { throw std::runtime_error("x"); }),
               std::runtime_error);
}

TEST(Runtime, WaitsForNonDetachedFibersOnOtherShards) {
  std::atomic<bool> finished{false};
  balrog::fiber<void> kept;
  balrog::runtime({.threads = 2}).run([&] {
    kept = balrog::spawn_on(1, [&] {
      balrog::this_fiber::sleep_for(20ms);
      finished = true;
    });
  });
  EXPECT_TRUE(finished);
  kept.join();
}

TEST(Runtime, CancelsDetachedFibersOnEveryShardAtTheEnd) {
  std::atomic<int> unwound{0};
  balrog::runtime({.threads = 3}).run([&] {
    for (std::size_t s = 0; s < 3; ++s) {
      balrog::spawn_on(s, [&] {
        struct marker {
          std::atomic<int>& n;
          ~marker() { ++n; }
        } m{unwound};
        balrog::this_fiber::sleep_for(1h);
      }).detach();
    }
    balrog::this_fiber::sleep_for(5ms);
  });
  EXPECT_EQ(unwound, 3);
}

TEST(Runtime, JoinCancelAndSyncPrimitivesWorkAcrossShards) {
  balrog::runtime({.threads = 3}).run([] {
    // A channel from shard 1 to shard 2, collected on shard 0.
    balrog::channel<int> ch(4);
    auto producer = balrog::spawn_on(1, [&] {
      for (int i = 1; i <= 100; ++i) ch.push(i);
      ch.close();
    });
    auto consumer = balrog::spawn_on(2, [&] {
      int sum = 0;
      for (int v : ch) sum += v;
      return sum;
    });
    producer.join();
    EXPECT_EQ(consumer.join(), 5050);

    // An event set on shard 0 wakes a fiber waiting on shard 1.
    balrog::event go;
    auto waiter = balrog::spawn_on(1, [&] {
      go.wait();
      return balrog::this_shard::index();
    });
    balrog::this_fiber::sleep_for(2ms);
    go.set();
    EXPECT_EQ(waiter.join(), 1U);

    // A mutex contended by fibers of all shards.
    balrog::mutex m;
    long counter = 0;
    std::vector<balrog::fiber<void>> workers;
    for (std::size_t s = 0; s < 3; ++s) {
      workers.push_back(balrog::spawn_on(s, [&] {
        for (int i = 0; i < 1000; ++i) {
          std::lock_guard lk(m);
          ++counter;
        }
      }));
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(counter, 3000);

    // Cancel a fiber of shard 2 from shard 0.
    auto sleeper = balrog::spawn_on(2, [] { balrog::this_fiber::sleep_for(1h); });
    balrog::this_fiber::sleep_for(2ms);
    sleeper.cancel();
    EXPECT_THROW(sleeper.join(), balrog::cancelled);
  });
}

TEST(Runtime, SpawnOnMisuse) {
  EXPECT_THROW(balrog::spawn_on(0, [] {}), balrog::usage_error);
  balrog::runtime({.threads = 2}).run([] {
    EXPECT_THROW(balrog::spawn_on(2, [] {}), balrog::usage_error);
    EXPECT_THROW(balrog::runtime({.threads = 2}).run([] {}), balrog::usage_error);
  });
  EXPECT_THROW((void)balrog::this_shard::index(), balrog::usage_error);
  EXPECT_EQ(balrog::this_shard::count(), 0U);
}

TEST(Runtime, ZeroThreadsMeansOnePerCpu) {
  const std::size_t n =
      balrog::runtime({.threads = 0}).run([] { return balrog::this_shard::count(); });
  EXPECT_EQ(n, std::max(1U, std::thread::hardware_concurrency()));
}

TEST(Runtime, TasksRunOnTheShardThatSpawnedThem) {
  balrog::runtime({.threads = 2}).run([] {
    auto on_one = balrog::spawn_on(1, [] {
      auto t = []() -> balrog::task<std::size_t> { co_return balrog::this_shard::index(); };
      return balrog::spawn_task(t()).join();
    });
    EXPECT_EQ(on_one.join(), 1U);
  });
}

TEST(PerShardServer, EveryShardAcceptsAndServes) {
  balrog::runtime({.threads = 2}).run([] {
    balrog::per_shard_server server(balrog::net::endpoint::loopback(0), [](balrog::net::stream c) {
      std::array<std::byte, 64> buf{};
      while (auto n = c.read_some(buf)) c.write_all(std::span(buf).first(n));
    });
    const auto where = server.local_endpoint();
    EXPECT_NE(where.port(), 0);
    constexpr int clients = 200;
    balrog::wait_group done;
    std::atomic<int> ok{0};
    for (int i = 0; i < clients; ++i) {
      done.add();
      balrog::spawn([&] {
        auto s = balrog::net::connect(where, 5s);
        s.write_all("hi");
        if (s.read_exact(2, 5s) == "hi") ++ok;
        done.done();
      }).detach();
    }
    done.wait();
    EXPECT_EQ(ok, clients);
    const auto per = server.accepted_per_shard();
    ASSERT_EQ(per.size(), 2U);
    EXPECT_EQ(per[0] + per[1], static_cast<std::size_t>(clients));
    // The kernel hashes connections over both listeners; all 200 on one is a 2^-199 event.
    EXPECT_GT(per[0], 0U);
    EXPECT_GT(per[1], 0U);
    server.stop();
    EXPECT_THROW(balrog::net::connect(where, 1s), balrog::io_error);
  });
}

TEST(PerShardServer, OutsideARuntimeIsAUsageError) {
  EXPECT_THROW(
      balrog::per_shard_server(balrog::net::endpoint::loopback(0), [](balrog::net::stream) {}),
      balrog::usage_error);
}

namespace {

// UBSan (the asan preset) vets a (dynamic type, static type) pair the first time it meets it
// by reading the vtable through a pipe(2) (sanitizer_common's IsAccessibleMemoryRange). With no
// descriptor free that probe fails, and a live object is reported as "does not point to an
// object of type ..." (this test once failed so, on the running fiber's own context in
// wait_for_fd). So the child first goes through what it and the acceptor do while descriptors
// are out, with descriptors to spare: a connection accepted, served to its end (`served`
// counts the handlers that returned) and read with a deadline, a sleep, and an io_error thrown
// and inspected by its code (what the acceptor meets).
void meet_the_types_while_descriptors_are_free(const balrog::net::endpoint& server,
                                               const std::atomic<int>& served) {
  {
    auto warm = balrog::net::connect(server, 2s);
    warm.write_all("hi");
    if (warm.read_exact(2, 5s) != "hi") std::_Exit(5);
  }
  // The handler returns when it reads our close; its fiber ends before the loop runs us again.
  while (served.load() == 0) balrog::this_fiber::sleep_for(1ms);
  try {
    throw balrog::io_error(std::make_error_code(std::errc::too_many_files_open), "warm-up");
  } catch (const balrog::io_error& e) {
    if (e.code() != std::errc::too_many_files_open || *e.what() == '\0') std::_Exit(6);
  }
}

}  // namespace

// Review finding H: an acceptor that runs out of file descriptors backs off and retries; the
// connection waiting in the backlog is served once descriptors are free again. Runs in a child
// process (a death test), whose descriptor table it fills.
TEST(PerShardServer, AcceptorSurvivesRunningOutOfFileDescriptors) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        rlimit lim{};
        ::getrlimit(RLIMIT_NOFILE, &lim);
        lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 256);
        ::setrlimit(RLIMIT_NOFILE, &lim);
        balrog::runtime({.threads = 1}).run([] {
          std::atomic<int> served{0};
          balrog::per_shard_server server(balrog::net::endpoint::loopback(0),
                                          [&served](balrog::net::stream c) {
                                            std::array<std::byte, 16> buf{};
                                            while (auto n = c.read_some(buf)) {
                                              c.write_all(std::span(buf).first(n));
                                            }
                                            ++served;
                                          });
          meet_the_types_while_descriptors_are_free(server.local_endpoint(), served);
          std::vector<int> hogs;
          for (int fd; (fd = ::dup(0)) >= 0;) hogs.push_back(fd);
          ::close(hogs.back());  // one left, for the client's socket
          hogs.pop_back();
          auto client = balrog::net::connect(server.local_endpoint(), 2s);
          balrog::this_fiber::sleep_for(50ms);  // the acceptor meets EMFILE, backs off, retries
          for (int fd : hogs) ::close(fd);
          client.write_all("ok");
          const bool echoed = client.read_exact(2, 5s) == "ok";
          server.stop();
          std::_Exit(echoed ? 0 : 3);
        });
        std::_Exit(4);
      },
      ::testing::ExitedWithCode(0), "accept failed.*retrying with back-off");
}

// runtime_options::shard (issue 10 §4): a non-default dispatch budget and batch take effect. A
// fiber woken from another thread is queued only when the loop looks at its remote queue, which
// fibers yielding to each other put off for dispatch_batch dispatches of dispatch_budget
// switches each: it sees how many yields ran before it.
namespace {

int yields_before_a_remote_wake(unsigned budget, unsigned batch) {
  balrog::runtime_options o;
  o.shard.dispatch_budget = budget;
  o.shard.dispatch_batch = batch;
  return balrog::runtime(o).run([] {
    balrog::semaphore sem(0);
    int yields = 0;
    int seen = -1;
    auto waiter = balrog::spawn([&] {
      sem.acquire();
      seen = yields;
    });
    balrog::this_fiber::yield();                 // the waiter parks
    std::thread([&] { sem.release(); }).join();  // in the remote queue now
    auto a = balrog::spawn([&] {
      for (int i = 0; i < 200; ++i, ++yields) balrog::this_fiber::yield();
    });
    auto b = balrog::spawn([&] {
      for (int i = 0; i < 200; ++i, ++yields) balrog::this_fiber::yield();
    });
    a.join();
    b.join();
    waiter.join();
    return seen;
  });
}

}  // namespace

TEST(RuntimeOptions, TheDispatchBudgetBoundsDirectSwitchesBeforeTheLoop) {
  EXPECT_GE(yields_before_a_remote_wake(128, 64), 100);  // the defaults
  EXPECT_LE(yields_before_a_remote_wake(4, 1), 8);
  // Four dispatches of four switches: about five yields each (the last one returns to the loop).
  const int batched = yields_before_a_remote_wake(4, 4);
  EXPECT_GT(batched, 8);
  EXPECT_LE(batched, 24);
}

// runtime_options::offload_threads: with one pool thread, two offloaded calls run one after
// the other. In a fresh process (the pool is process-wide and keeps the threads it started).
TEST(RuntimeOptionsDeathTest, OffloadThreadsLimitsThePool) {
  EXPECT_EXIT(
      {
        balrog::runtime_options o;
        o.offload_threads = 1;
        const bool overlapped = balrog::runtime(o).run([] {
          std::atomic<int> inside{0};
          std::atomic<bool> overlap{false};
          auto job = [&] {
            if (inside.fetch_add(1) != 0) overlap = true;
            std::this_thread::sleep_for(50ms);
            inside.fetch_sub(1);
          };
          auto f = balrog::spawn([&] { balrog::offload(job); });
          balrog::offload(job);
          f.join();
          return overlap.load();
        });
        std::_Exit(overlapped ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(RuntimeOptions, DefaultsAreUnchanged) {
  const balrog::shard_options o;
  EXPECT_EQ(o.dispatch_budget, 128U);
  EXPECT_EQ(o.dispatch_batch, 64U);
  EXPECT_EQ(o.cached_guarded_stacks, 1024U);
  EXPECT_EQ(o.cached_context_blocks, 256U);
  EXPECT_EQ(balrog::runtime_options{}.offload_threads, 0U);  // leaves the pool's 64
  EXPECT_EQ(balrog::offload_max_threads, 64U);
}
