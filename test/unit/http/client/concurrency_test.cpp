// Where requests run: many fibers of one shard, several shards, coroutine tasks, plain
// threads (sync mode, with connections kept between calls), and the misuse of a blocking call
// in coroutine code.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/fiber.hpp"
#include "balrog/http/client.hpp"
#include "balrog/run.hpp"
#include "balrog/runtime.hpp"
#include "balrog/task.hpp"
#include "support/client_helpers.hpp"
#include "support/peers.hpp"

using namespace std::chrono_literals;
namespace http = balrog::http;
using balrog::test::echo_of;
using balrog::test::fetch;
using balrog::test::python_peer;
using steady = std::chrono::steady_clock;

namespace {

TEST(HttpConcurrency, ManyFibersOfOneShard) {
  balrog::run([] {
    constexpr int n = 100;
    std::atomic<int> ok{0};
    std::vector<balrog::fiber<void>> fibers;
    const auto t0 = steady::now();
    for (int i = 0; i < n; ++i) {
      fibers.push_back(balrog::spawn([&] {
        if (fetch("GET", python_peer::url("/slow?ms=200")).status() == 200) ++ok;
      }));
    }
    for (auto& f : fibers) f.join();
    EXPECT_EQ(ok.load(), n);
    // Concurrent, not one after the other (a generous bound: 100 x 200 ms in a row is 20 s).
    EXPECT_LT(steady::now() - t0, 10s);
  });
}

balrog::task<int> coroutine_request(std::string url) {
  http::request_options o;  // its own statement: see the GCC 12 caveat in request.hpp
  o.params = {{"from", "coroutine"}};
  http::response r = co_await http::get(std::move(url), std::move(o));
  co_return r.status();
}

TEST(HttpConcurrency, CoroutineTasks) {
  balrog::run([] {
    std::vector<balrog::task_handle<int>> tasks;
    for (int i = 0; i < 20; ++i) {
      tasks.push_back(balrog::spawn_task(coroutine_request(python_peer::url("/slow?ms=50"))));
    }
    for (auto& t : tasks) EXPECT_EQ(t.join(), 200);
  });
}

TEST(HttpConcurrency, SeveralShards) {
  std::atomic<int> ok{0};
  balrog::runtime({.threads = 3}).run([&] {
    std::vector<balrog::fiber<void>> fibers;
    for (int i = 0; i < 30; ++i) {
      fibers.push_back(balrog::spawn_on(static_cast<std::size_t>(i % 3), [&] {
        if (fetch("GET", python_peer::url("/echo")).status() == 200) ++ok;
      }));
    }
    for (auto& f : fibers) f.join();
  });
  EXPECT_EQ(ok.load(), 30);
}

TEST(HttpConcurrency, SyncModeKeepsItsConnection) {
  // No runtime on this thread: each call runs a private scheduler, the thread's multi handle
  // (and its connection) stays.
  const auto first = echo_of(fetch("GET", python_peer::url("/echo")));
  const auto second = echo_of(fetch("GET", python_peer::url("/echo")));
  EXPECT_EQ(first.at("client_port"), second.at("client_port"));
  // Another thread has its own.
  std::thread other([&] {
    EXPECT_NE(echo_of(fetch("GET", python_peer::url("/echo"))).at("client_port"),
              first.at("client_port"));
  });
  other.join();
}

TEST(HttpConcurrency, AFiberKeepsItsShardsConnection) {
  balrog::run([] {
    const auto first = echo_of(fetch("GET", python_peer::url("/echo")));
    const auto second = echo_of(fetch("GET", python_peer::url("/echo")));
    EXPECT_EQ(first.at("client_port"), second.at("client_port"));
  });
}

balrog::task<void> blocking_inside_coroutine() {
  // A blocking-style call in coroutine code would stall the shard.
  EXPECT_THROW(fetch("GET", python_peer::url("/echo")), balrog::usage_error);
  co_return;
}

TEST(HttpConcurrency, BlockingCallInCoroutineCodeIsRefused) {
  balrog::run([] { balrog::spawn_task(blocking_inside_coroutine()).join(); });
}

}  // namespace
