// End to end: a program inside balrog::run that starts std::async tasks, which meet through
// std::call_once, std::atomic<T>::wait/notify_all and a std::promise's std::shared_future. As
// written, each task is an OS thread and every wait blocks one. Rewritten by sync-types, the
// tasks are fibers of the one thread of balrog::run, every wait suspends only its fiber (a
// blocking wait would hang the thread: the value it waits for comes from another fiber of it),
// and the result is the same.
// REQUIRES: balrog-runtime-lib
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 %balrog_std_flags -o %t.rewritten %t.cpp %balrog_link_flags
// RUN: %t.rewritten | %FileCheck %s --check-prefix=REWRITTEN
// RUN: clang++-16 %balrog_std_flags -o %t.original %s %balrog_link_flags
// RUN: %t.original | %FileCheck %s --check-prefix=ORIGINAL

#include <balrog/run.hpp>
#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <mutex>
#include <set>
#include <vector>
// CHECK-FIXES: #include <balrog/future.hpp>
// CHECK-FIXES-NEXT: #include <balrog/run.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/atomic_wait.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/call_once.hpp>

constexpr int tasks = 8;

std::once_flag setup_once;
// CHECK-FIXES: balrog::once_flag setup_once;
int setups = 0;
std::atomic<int> started{0};
std::atomic<bool> go{false};
std::mutex threads_mutex;  // NOBALROG(sync-types): held for a moment, never across a wait
std::set<pthread_t> os_threads;

void note_thread() {
  std::lock_guard<std::mutex> g(threads_mutex);  // NOBALROG(sync-types)
  os_threads.insert(pthread_self());
}

int task(int i, std::shared_future<int> base) {
  // CHECK-FIXES: int task(int i, balrog::shared_future<int> base) {
  note_thread();
  std::call_once(setup_once, [] { ++setups; });
  // CHECK-FIXES: balrog::call_once(setup_once, [] { ++setups; });
  started.fetch_add(1);
  started.notify_all();
  // CHECK-FIXES: balrog::atomic_notify_all(started);
  go.wait(false);
  // CHECK-FIXES: balrog::atomic_wait(go, false);
  return base.get() + i;
}

int main() {
  balrog::run([] {
    note_thread();
    std::promise<int> base;
    // CHECK-FIXES: balrog::promise<int> base;
    std::shared_future<int> shared = base.get_future().share();
    // CHECK-FIXES: balrog::shared_future<int> shared = base.get_future().share();
    std::vector<std::future<int>> results;
    // CHECK-FIXES: std::vector<balrog::future<int>> results;
    for (int i = 0; i < tasks; ++i) results.push_back(std::async(std::launch::async, task, i, shared));
    // CHECK-FIXES: for (int i = 0; i < tasks; ++i) results.push_back(balrog::async(std::launch::async, task, i, shared));
    for (int seen = started.load(); seen < tasks; seen = started.load()) started.wait(seen);
    // CHECK-FIXES: for (int seen = started.load(); seen < tasks; seen = started.load()) balrog::atomic_wait(started, seen);
    go.store(true);
    go.notify_all();
    // CHECK-FIXES: balrog::atomic_notify_all(go);
    base.set_value(100);
    int total = 0;
    for (auto& r : results) total += r.get();
    std::printf("setups: %d, total: %d, OS threads: %zu\n", setups, total, os_threads.size());
  });
}
// REWRITTEN: setups: 1, total: 828, OS threads: 1
// ORIGINAL: setups: 1, total: 828, OS threads: 9
