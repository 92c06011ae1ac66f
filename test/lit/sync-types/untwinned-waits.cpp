// Waits of std facilities that balrog has no twin for yet are reported where they are called and
// left as they are (the file does not change): std::future and std::shared_future's get and
// wait*, std::async, std::atomic<T>::wait (member and free function), std::atomic_flag::wait,
// std::call_once. On a fiber each of them blocks the whole thread.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>

std::once_flag once;
std::atomic<int> ready{0};
std::atomic_flag raised;

int use() {
  auto f = std::async(std::launch::async, [] { return 1; });
  // CHECK-MESSAGES: :[[@LINE-1]]:12: warning: 'std::async' runs its function on an OS thread outside the shard's fibers (or, deferred, in get()), and its future's get() blocks the thread; not rewritten: balrog has no twin yet (start a balrog::thread and hand the result over with a balrog::channel) [sync-types]
  f.wait_for(std::chrono::milliseconds(1));
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: 'std::future::wait_for' blocks the thread until the value is ready: on a fiber it stalls every fiber of the shard, and never returns when the value comes from a fiber of the same thread (a rewritten std::thread, a worker pool's task); not rewritten: balrog has no twin yet (hand the value over with a balrog::channel, or wait on a balrog::event) [sync-types]
  int v = f.get();
  // CHECK-MESSAGES: :[[@LINE-1]]:13: warning: 'std::future::get' {{.*}}
  std::shared_future<int> s = std::async(std::launch::deferred, [] { return 2; }).share();
  // CHECK-MESSAGES: :[[@LINE-1]]:31: warning: 'std::async' {{.*}}
  s.wait();
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: 'std::shared_future::wait' {{.*}}
  ready.wait(0);
  // CHECK-MESSAGES: :[[@LINE-1]]:9: warning: 'std::atomic::wait' blocks the thread until another notifies it: {{.*}}; not rewritten: balrog has no twin yet (wait on a balrog::event or a balrog::condition_variable instead) [sync-types]
  std::atomic_wait(&ready, 1);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: 'std::atomic_wait' {{.*}}
  raised.wait(false);
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: 'std::atomic_flag::wait' {{.*}}
  std::call_once(once, [] {});
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: 'std::call_once' blocks the thread while another caller runs the function: when the function suspends its fiber (a rewritten blocking call), a second fiber of the same thread that reaches it blocks the thread for good; not rewritten: balrog has no twin yet (run the initialization before the fibers start, or guard it with a balrog::mutex; mark the line NOBALROG(sync-types) when the function never suspends) [sync-types]
  // NOBALROGNEXTLINE(sync-types)
  std::call_once(once, [] {});
  return v + s.get();
  // CHECK-MESSAGES: :[[@LINE-1]]:16: warning: 'std::shared_future::get' {{.*}}
}

