// End to end: std::threads that keep "the current request" in a thread_local and meet at a
// std::latch between writing and reading it. Rewritten with thread-local-to-fiber-local, the
// threads are fibers of one OS thread and each still reads back its own request (a
// balrog::fiber_local); rewritten without it, they would all share one slot (the default
// reports it). As written, each is an OS thread with its own slot: same output.
// REQUIRES: balrog-runtime-lib
// RUN: printf 'pass-options:\n  sync-types: {thread-local-to-fiber-local: true}\n' > %t.yaml
// RUN: %check_balrog %s sync-types %t -- --config-file=%t.yaml -- %balrog_std_flags
// RUN: clang++-16 %balrog_std_flags -o %t.rewritten %t.cpp %balrog_link_flags
// RUN: %t.rewritten | %FileCheck %s --check-prefix=REWRITTEN
// RUN: clang++-16 %balrog_std_flags -o %t.original %s %balrog_link_flags
// RUN: %t.original | %FileCheck %s --check-prefix=ORIGINAL

#include <balrog/run.hpp>
#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>
// CHECK-FIXES: #include <balrog/fiber_local.hpp>

constexpr int workers = 6;

thread_local int current_request = -1;
// CHECK-FIXES: balrog::fiber_local<int> current_request{[]() -> int { return -1; }};
std::mutex threads_mutex;
std::set<pthread_t> os_threads;
std::atomic<int> mixed_up{0};

void serve(int request, std::latch& all_written) {
  {
    std::lock_guard<std::mutex> g(threads_mutex);
    os_threads.insert(pthread_self());
  }
  if (current_request != -1) mixed_up.fetch_add(1);
  // CHECK-FIXES: if ((*current_request) != -1) mixed_up.fetch_add(1);
  current_request = request;
  // CHECK-FIXES: (*current_request) = request;
  all_written.arrive_and_wait();  // every worker has written its own before anyone reads
  if (current_request != request) mixed_up.fetch_add(1);
  // CHECK-FIXES: if ((*current_request) != request) mixed_up.fetch_add(1);
}

int main() {
  balrog::run([] {
    std::latch all_written(workers);
    std::vector<std::thread> pool;
    for (int i = 0; i < workers; ++i) pool.emplace_back(serve, i, std::ref(all_written));
    for (auto& t : pool) t.join();
    std::printf("mixed up: %d, OS threads: %zu\n", mixed_up.load(), os_threads.size());
  });
}
// REWRITTEN: mixed up: 0, OS threads: 1
// ORIGINAL: mixed up: 0, OS threads: 6
