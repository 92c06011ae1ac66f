// End to end: a program that starts std::threads inside balrog::run, keyed by thread id, with a
// std::recursive_mutex and a std::latch. As written, each std::thread is an OS thread of its
// own. Rewritten by sync-types, the same program runs every "thread" as a fiber of the one
// thread of balrog::run, its thread ids still tell the workers apart, and the result is the
// same.
// REQUIRES: balrog-runtime-lib
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 %balrog_std_flags -o %t.rewritten %t.cpp %balrog_link_flags
// RUN: %t.rewritten | %FileCheck %s --check-prefix=REWRITTEN
// RUN: clang++-16 %balrog_std_flags -o %t.original %s %balrog_link_flags
// RUN: %t.original | %FileCheck %s --check-prefix=ORIGINAL

#include <balrog/run.hpp>
#include <pthread.h>

#include <cstdio>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>
// CHECK-FIXES: #include <balrog/run.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/latch.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/recursive_mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/thread.hpp>

constexpr int workers = 8;

std::recursive_mutex mutex;
// CHECK-FIXES: balrog::recursive_mutex mutex;
std::map<std::thread::id, int> work_by_thread;
// CHECK-FIXES: std::map<balrog::thread::id, int> work_by_thread;
std::set<pthread_t> os_threads;

void record(int units) {
  std::lock_guard<std::recursive_mutex> g(mutex);
  // CHECK-FIXES: std::lock_guard<balrog::recursive_mutex> g(mutex);
  work_by_thread[std::this_thread::get_id()] += units;
  // CHECK-FIXES: work_by_thread[balrog::this_thread::get_id()] += units;
  os_threads.insert(pthread_self());
}

void work(int units, std::latch& done) {
  // CHECK-FIXES: void work(int units, balrog::latch& done) {
  std::lock_guard<std::recursive_mutex> g(mutex);
  // CHECK-FIXES: std::lock_guard<balrog::recursive_mutex> g(mutex);
  for (int i = 0; i < units; ++i) record(1);  // locks again: the same owner
  done.count_down();
}

int main() {
  balrog::run([] {
    os_threads.insert(pthread_self());
    std::latch done(workers);
    // CHECK-FIXES: balrog::latch done(workers);
    std::vector<std::thread> pool;
    // CHECK-FIXES: std::vector<balrog::thread> pool;
    for (int i = 0; i < workers; ++i) pool.emplace_back(work, i + 1, std::ref(done));
    done.wait();
    for (std::thread& t : pool) t.join();
    // CHECK-FIXES: for (balrog::thread& t : pool) t.join();
    int total = 0;
    for (const auto& [id, units] : work_by_thread) total += units;
    std::printf("workers seen: %zu, units: %d, OS threads: %zu\n", work_by_thread.size(), total,
                os_threads.size());
  });
}
// REWRITTEN: workers seen: 8, units: 36, OS threads: 1
// ORIGINAL: workers seen: 8, units: 36, OS threads: 9
