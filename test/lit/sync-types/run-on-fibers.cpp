// End to end: a producer/consumer written with std::mutex, std::condition_variable and
// std::lock_guard/std::unique_lock, run on fibers of one thread. As written, the consumer fiber
// blocks the thread in std::condition_variable::wait before the producer fiber ever runs: the
// program hangs (checked with a timeout; balrog's watchdog names the stuck fiber). Rewritten by sync-types it compiles against the
// runtime, every wait suspends only its fiber, and the program finishes with the right result.
// REQUIRES: balrog-runtime-lib
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 %balrog_std_flags -o %t.rewritten %t.cpp %balrog_link_flags
// RUN: %t.rewritten | %FileCheck %s --check-prefix=OUTPUT
// RUN: clang++-16 %balrog_std_flags -o %t.original %s %balrog_link_flags
// RUN: timeout 2 %t.original 2>%t.watchdog; echo "exit status $?" > %t.status
// RUN: %FileCheck %s --check-prefix=HANG --input-file=%t.status
// RUN: %FileCheck %s --check-prefix=WATCHDOG --input-file=%t.watchdog

#include <balrog/fiber.hpp>
#include <balrog/run.hpp>
#include <balrog/this_fiber.hpp>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
// CHECK-FIXES: #include <balrog/run.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/this_fiber.hpp>

class work_queue {
 public:
  void push(int v) {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      // CHECK-FIXES: std::lock_guard<balrog::mutex> lk(mutex_);
      items_.push_back(v);
    }
    ready_.notify_one();
  }
  int pop() {
    std::unique_lock lk(mutex_);
    ready_.wait(lk, [&] { return !items_.empty(); });
    const int v = items_.front();
    items_.pop_front();
    return v;
  }

 private:
  std::mutex mutex_;
  // CHECK-FIXES: balrog::mutex mutex_;
  std::condition_variable ready_;
  // CHECK-FIXES: balrog::condition_variable ready_;
  std::deque<int> items_;
};

int main() {
  const long sum = balrog::run([] {
    work_queue q;
    // The consumers start first and wait; then the producers fill the queue, yielding between
    // items so that producers and consumers interleave.
    auto consume = [&q] {
      long s = 0;
      for (int i = 0; i < 100; ++i) s += q.pop();
      return s;
    };
    auto c1 = balrog::spawn(consume);
    auto c2 = balrog::spawn(consume);
    balrog::this_fiber::yield();
    auto produce = [&q](int first) {
      for (int i = first; i < first + 100; ++i) {
        q.push(i);
        balrog::this_fiber::yield();
      }
    };
    auto p1 = balrog::spawn([&] { produce(0); });
    auto p2 = balrog::spawn([&] { produce(100); });
    p1.join();
    p2.join();
    return c1.join() + c2.join();
  });
  std::printf("sum %ld\n", sum);
  return sum == 199L * 200 / 2 ? 0 : 1;
}
// OUTPUT: sum 19900
// HANG: exit status 124
// WATCHDOG: balrog watchdog: shard 0 has not returned to its loop for {{[0-9]+}} ms
