// The generated blocking-style shims of the runtime's coroutine-first functions
// (balrog/generated/blocking.hpp, written by balrog-gen --emit-shims; see
// docs/passes/coro-shims.md): they work on fibers, which they suspend, and on a plain thread
// (sync mode), and they keep the coroutine forms' results, deadlines and exceptions.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/generated/blocking.hpp"
#include "balrog/net.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"

using namespace std::chrono_literals;
namespace net = balrog::net;

namespace {

using steady = std::chrono::steady_clock;

TEST(GeneratedShims, SleepForOnAPlainThread) {
  const steady::time_point t0 = steady::now();
  balrog::blocking::sleep_for(20ms);  // no runtime here: balrog::await runs a private one
  EXPECT_GE(steady::now() - t0, 20ms);
}

TEST(GeneratedShims, SleepForSuspendsOnlyTheCallingFiber) {
  balrog::run([] {
    int ticks = 0;
    auto ticker = balrog::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        ++ticks;
        balrog::this_fiber::yield();
      }
    });
    balrog::blocking::sleep_for(10ms);
    EXPECT_EQ(ticks, 3);  // the other fiber ran while this one slept
    ticker.join();
  });
}

TEST(GeneratedShims, EchoOverLoopbackWithMemberShims) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    auto server = balrog::spawn([&] {
      net::stream s = net::blocking::accept(l, 5s);  // listener::async_accept's twin
      std::string line = net::blocking::read_exact(s, 5, 5s);
      net::blocking::write_all(s, std::string_view(line), 5s);
    });
    net::stream c = net::blocking::connect(l.local_endpoint(), 5s);
    net::blocking::write_all(c, std::string_view("hello"), 5s);
    std::vector<std::byte> buf(5);
    net::blocking::read_exact(c, std::span<std::byte>(buf), 5s);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), buf.size()), "hello");
    // The peer closes after its echo: read_some's twin reports end of stream as 0.
    server.join();
    EXPECT_EQ(net::blocking::read_some(c, std::span<std::byte>(buf), 5s), 0U);
  });
}

TEST(GeneratedShims, ExceptionsAndDeadlinesPassThrough) {
  balrog::run([] {
    auto l = net::listen(net::endpoint::loopback(0));
    // Nobody accepts, so nothing is ever written back: the read's deadline passes.
    net::stream c = net::blocking::connect(l.local_endpoint(), 5s);
    std::vector<std::byte> buf(1);
    EXPECT_THROW(net::blocking::read_some(c, std::span<std::byte>(buf), 20ms),
                 balrog::timeout_error);
  });
  // Default arguments are repeated: resolve's deadline defaults to never.
  std::vector<net::endpoint> found = net::blocking::resolve("127.0.0.1", 80);
  EXPECT_FALSE(found.empty());
}

}  // namespace
