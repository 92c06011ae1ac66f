// Ping-pong over channel<int> between two fibers vs two threads over std::mutex +
// std::condition_variable.
//
// One round trip, both sides: A pushes an int into `ping`, B pops it and pushes it + 1 into
// `pong`, A pops that. Both channels hold at most one value (capacity 1). Each round times R
// round trips inside A and reports elapsed / R, in ns.
//
//  balrog: two fibers on one balrog::run thread with balrog::channel<int>(1). Every round trip
//    parks and wakes each fiber once: two fiber switches, no system call.
//  peer: two std::threads with the same channel built from one std::mutex, two
//    std::condition_variables and a std::deque (the textbook bounded queue). Every round trip
//    blocks and wakes each thread once through the kernel (futex); the threads may sit on the
//    same core or on both cores, as the scheduler pleases.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "balrog/fiber.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/channel.hpp"
#include "harness.hpp"

namespace {

using namespace balrog_bench;

constexpr std::size_t warm_up_round_trips = 1'000;  // inside every round, not timed

// The peer's channel: bounded FIFO on std::mutex + std::condition_variable.
template <class T>
class locked_channel {
 public:
  explicit locked_channel(std::size_t capacity) : capacity_(capacity) {}
  void push(T v) {
    std::unique_lock lk(mutex_);
    not_full_.wait(lk, [&] { return queue_.size() < capacity_; });
    queue_.push_back(std::move(v));
    lk.unlock();
    not_empty_.notify_one();
  }
  std::optional<T> pop() {
    std::unique_lock lk(mutex_);
    not_empty_.wait(lk, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return std::nullopt;
    T v = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    not_full_.notify_one();
    return v;
  }
  void close() {
    {
      std::lock_guard lk(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> queue_;
  std::size_t capacity_;
  bool closed_ = false;
};

// A's side of the ping-pong, shared by both implementations.
template <class Channel>
std::int64_t ping_side(Channel& ping, Channel& pong, std::size_t round_trips) {
  for (std::size_t i = 0; i < warm_up_round_trips; ++i) {
    ping.push(static_cast<int>(i));
    do_not_optimize(pong.pop());
  }
  const std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < round_trips; ++i) {
    ping.push(static_cast<int>(i));
    auto r = pong.pop();
    do_not_optimize(r);
  }
  const std::int64_t elapsed = now_ns() - t0;
  ping.close();
  return elapsed;
}

template <class Channel>
void pong_side(Channel& ping, Channel& pong) {
  while (auto v = ping.pop()) pong.push(*v + 1);
}

double balrog_round(std::size_t round_trips) {
  return balrog::run([round_trips] {
    balrog::channel<int> ping(1);
    balrog::channel<int> pong(1);
    auto b = balrog::spawn([&] { pong_side(ping, pong); });
    auto a = balrog::spawn([&] { return ping_side(ping, pong, round_trips); });
    const std::int64_t elapsed = a.join();
    b.join();
    return static_cast<double>(elapsed) / static_cast<double>(round_trips);
  });
}

double thread_round(std::size_t round_trips) {
  locked_channel<int> ping(1);
  locked_channel<int> pong(1);
  std::thread b([&] { pong_side(ping, pong); });
  std::int64_t elapsed = 0;
  std::thread a([&] { elapsed = ping_side(ping, pong, round_trips); });
  a.join();
  b.join();
  return static_cast<double>(elapsed) / static_cast<double>(round_trips);
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] {
    const options opt = parse_options(argc, argv);
    const std::size_t fiber_trips = opt.iterations(1'000'000);
    const std::size_t thread_trips = opt.iterations(50'000);
    const samples s = alternate(
        opt.rounds, [&] { return balrog_round(fiber_trips); },
        [&] { return thread_round(thread_trips); });
    case_result c("channel ping-pong round trip", "ns", "lower",
                  "2 threads, std::mutex + std::condition_variable");
    c.balrog_samples = s.balrog;
    c.peer_samples = s.peer;
    c.note = "ns per round trip (A pushes to B, B pushes back to A), channels of capacity 1; " +
             std::to_string(fiber_trips) + " round trips per balrog round, " +
             std::to_string(thread_trips) + " per thread round";
    c.with("iterations_per_round", static_cast<double>(fiber_trips));
    c.with("peer_iterations_per_round", static_cast<double>(thread_trips));
    emit(c);
  });
}
