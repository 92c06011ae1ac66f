// End to end: a plain program (no balrog in it) whose main() starts std::threads that hand
// work over a std::mutex and a std::condition_variable, keeps a 1 MiB buffer on main's stack,
// and returns an exit status. As written, each std::thread is an OS thread. Rewritten by
// run-main and sync-types, main() runs on the main fiber of balrog::run_main, every "thread" is
// a fiber of that one OS thread (a wait on a real std::condition_variable would hang it), the
// main fiber's stack is as large as the main thread's (RLIMIT_STACK), and the exit status is
// the one main() returned.
// REQUIRES: balrog-runtime-lib
// RUN: %check_balrog %s run-main,sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 %balrog_std_flags -o %t.rewritten %t.cpp %balrog_link_flags
// RUN: %t.rewritten a b > %t.rewritten.out; test $? -eq 3
// RUN: %FileCheck %s --check-prefix=REWRITTEN --input-file=%t.rewritten.out
// RUN: clang++-16 %balrog_std_flags -o %t.original %s %balrog_link_flags
// RUN: %t.original a b > %t.original.out; test $? -eq 3
// RUN: %FileCheck %s --check-prefix=ORIGINAL --input-file=%t.original.out

#include <pthread.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>
// CHECK-FIXES: #include <balrog/run_main.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/thread.hpp>

constexpr int workers = 8;

std::mutex mutex;
// CHECK-FIXES: balrog::mutex mutex;
std::condition_variable work_ready;
// CHECK-FIXES: balrog::condition_variable work_ready;
std::deque<int> work;
bool closed = false;
int total = 0;
std::set<pthread_t> os_threads;

void worker() {
  std::unique_lock<std::mutex> lock(mutex);
  // CHECK-FIXES: std::unique_lock<balrog::mutex> lock(mutex);
  os_threads.insert(pthread_self());
  for (;;) {
    work_ready.wait(lock, [] { return closed || !work.empty(); });
    if (work.empty()) return;
    total += work.front();
    work.pop_front();
  }
}

int main(int argc, char** argv) {
  // CHECK-FIXES: int balrog_user_main(int argc, char** argv) {
  char buffer[1 << 20];  // more than a default fiber stack (256 KiB)
  std::memset(buffer, argc, sizeof buffer);
  os_threads.insert(pthread_self());
  std::vector<std::thread> pool;
  // CHECK-FIXES: std::vector<balrog::thread> pool;
  for (int i = 0; i < workers; ++i) pool.emplace_back(worker);
  for (int i = 1; i <= 100; ++i) {
    {
      std::lock_guard<std::mutex> g(mutex);
      // CHECK-FIXES: std::lock_guard<balrog::mutex> g(mutex);
      work.push_back(i);
    }
    work_ready.notify_one();
  }
  {
    std::lock_guard<std::mutex> g(mutex);
    // CHECK-FIXES: std::lock_guard<balrog::mutex> g(mutex);
    closed = true;
  }
  work_ready.notify_all();
  for (auto& t : pool) t.join();
  std::printf("total: %d, OS threads: %zu, %s\n", total, os_threads.size(), argv[argc - 1]);
  return buffer[sizeof buffer - 1];  // argc: 3
}
// CHECK-FIXES: int main(int argc, char** argv) {
// CHECK-FIXES-NEXT:   return balrog::run_main([&] { return balrog_user_main(argc, argv); });
// CHECK-FIXES-NEXT: }
// REWRITTEN: total: 5050, OS threads: 1, b
// ORIGINAL: total: 5050, OS threads: 9, b
