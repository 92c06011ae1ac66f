// Yield round trip between two balrog fibers vs two raw boost::context::fiber resuming each
// other.
//
// What one "round trip" is, for both sides: fiber A gives up the CPU, fiber B runs until it
// gives the CPU back, and A runs again. That is exactly two context switches (A->B, B->A) and
// no user work. Each round times R round trips inside A and reports elapsed / R, in ns.
//
//  balrog: A and B are spawned fibers (default guarded stacks) that loop on
//    balrog::this_fiber::yield(); nothing else is ready (the main fiber is parked in join), so
//    A's yield switches to B and B's yield switches back to A. Each yield pays what balrog
//    always pays: the cancellation / deadline checks, a ready-queue push and pop, the dense
//    canary check, the per-fiber exception-state swap, and, every dispatch_budget (128)
//    switches, a pass through the scheduler loop (timers, remote queue).
//  peer: A and B are boost::context::fiber objects on boost's default stacks; A calls
//    b = std::move(b).resume() and B calls a = std::move(a).resume(). One round trip = two
//    resume() calls = two jump_fcontext. That is the floor balrog is built on.
//  reference (reported as extra fields, not as the peer): the same raw ping-pong, but each
//    resume() sits in a function the compiler may not inline. Any runtime's yield() is such a
//    call, and returning from it after a switch always mispredicts (the CPU's return-stack
//    buffer still holds the other fiber's return address), so this is the floor for a yield
//    that is a function call at all; the gap between it and balrog is balrog's own
//    bookkeeping.
#include <boost/context/fiber.hpp>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/this_fiber.hpp"
#include "harness.hpp"

namespace {

namespace ctx = boost::context;
using namespace balrog_bench;

constexpr std::size_t warm_up_round_trips = 10'000;  // inside every round, not timed

double balrog_round(std::size_t round_trips) {
  return balrog::run([round_trips] {
    bool done = false;
    std::int64_t elapsed = 0;
    auto a = balrog::spawn([&] {
      for (std::size_t i = 0; i < warm_up_round_trips; ++i) balrog::this_fiber::yield();
      const std::int64_t t0 = now_ns();
      for (std::size_t i = 0; i < round_trips; ++i) balrog::this_fiber::yield();
      elapsed = now_ns() - t0;
      done = true;
    });
    auto b = balrog::spawn([&] {
      while (!done) balrog::this_fiber::yield();  // yield() is opaque: `done` is re-read
    });
    a.join();
    b.join();
    return static_cast<double>(elapsed) / static_cast<double>(round_trips);
  });
}

double raw_boost_round(std::size_t round_trips) {
  std::int64_t elapsed = 0;
  bool stop = false;
  ctx::fiber a{[&](ctx::fiber&& main) {
    ctx::fiber b{[&](ctx::fiber&& to_a) {
      for (;;) {
        to_a = std::move(to_a).resume();  // leg B->A
        if (stop) break;
      }
      return std::move(to_a);  // B ends: back to A for good
    }};
    for (std::size_t i = 0; i < warm_up_round_trips; ++i) b = std::move(b).resume();
    const std::int64_t t0 = now_ns();
    for (std::size_t i = 0; i < round_trips; ++i) b = std::move(b).resume();  // leg A->B
    elapsed = now_ns() - t0;
    stop = true;
    b = std::move(b).resume();  // lets B return; b is empty afterwards
    return std::move(main);
  }};
  a = std::move(a).resume();
  clobber_memory();
  return static_cast<double>(elapsed) / static_cast<double>(round_trips);
}

// The reference: resume() behind a call the compiler cannot inline.
[[gnu::noinline]] void resume_behind_call(ctx::fiber& f) { f = std::move(f).resume(); }

double raw_boost_via_call_round(std::size_t round_trips) {
  std::int64_t elapsed = 0;
  bool stop = false;
  ctx::fiber a{[&](ctx::fiber&& main) {
    ctx::fiber b{[&](ctx::fiber&& to_a) {
      for (;;) {
        resume_behind_call(to_a);
        if (stop) break;
      }
      return std::move(to_a);
    }};
    for (std::size_t i = 0; i < warm_up_round_trips; ++i) resume_behind_call(b);
    const std::int64_t t0 = now_ns();
    for (std::size_t i = 0; i < round_trips; ++i) resume_behind_call(b);
    elapsed = now_ns() - t0;
    stop = true;
    b = std::move(b).resume();
    return std::move(main);
  }};
  a = std::move(a).resume();
  clobber_memory();
  return static_cast<double>(elapsed) / static_cast<double>(round_trips);
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    const std::size_t n = opt.iterations(2'000'000);
    // Three-way alternation: balrog, the peer and the reference, in rotating order.
    samples s;
    std::vector<double> via_call;
    (void)balrog_round(n);  // warm-up rounds, discarded
    (void)raw_boost_round(n);
    (void)raw_boost_via_call_round(n);
    for (int r = 0; r < opt.rounds; ++r) {
      for (int k = 0; k < 3; ++k) {
        switch ((r + k) % 3) {
          case 0:
            s.balrog.push_back(balrog_round(n));
            break;
          case 1:
            s.peer.push_back(raw_boost_round(n));
            break;
          default:
            via_call.push_back(raw_boost_via_call_round(n));
        }
      }
    }
    case_result c("yield round trip", "ns", "lower", "raw boost::context::fiber resume");
    c.balrog_samples = s.balrog;
    c.peer_samples = s.peer;
    c.note =
        "one round trip = A switches to B and B switches back to A (two context switches); ns "
        "per round trip, " +
        std::to_string(n) + " round trips per round";
    c.with("iterations_per_round", static_cast<double>(n));
    c.with("raw_resume_behind_call_ns", median(via_call));
    c.with_samples("raw_resume_behind_call_samples", via_call);
    c.with("balrog_over_raw_resume_behind_call", median(s.balrog) / median(via_call));
    emit(c);
  });
}
