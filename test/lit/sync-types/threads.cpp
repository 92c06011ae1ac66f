// std::thread and std::jthread become balrog::thread and balrog::jthread (fibers of the current
// shard; real threads outside the runtime), std::thread::id and std::this_thread::get_id()
// identify the fiber, however they are spelled. The rewritten file compiles against the runtime.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <functional>
#include <map>
#include <stop_token>
#include <thread>
#include <unordered_set>
#include <vector>
// CHECK-FIXES: #include <balrog/thread.hpp>
// CHECK-FIXES-NEXT: #include <functional>

std::thread worker;
// CHECK-FIXES: balrog::thread worker;
::std::jthread stoppable;
// CHECK-FIXES: ::balrog::jthread stoppable;
std::vector<std::thread> pool;
// CHECK-FIXES: std::vector<balrog::thread> pool;
std::map<std::thread::id, int> per_thread;
// CHECK-FIXES: std::map<balrog::thread::id, int> per_thread;
std::unordered_set<std::jthread::id> seen;
// CHECK-FIXES: std::unordered_set<balrog::jthread::id> seen;

std::thread::id owner() { return std::this_thread::get_id(); }
// CHECK-FIXES: balrog::thread::id owner() { return balrog::this_thread::get_id(); }

void start(std::thread& into, int n) {
  // CHECK-FIXES: void start(balrog::thread& into, int n) {
  into = std::thread([](int k) { (void)k; }, n);
  // CHECK-FIXES: into = balrog::thread([](int k) { (void)k; }, n);
  std::jthread j([](std::stop_token st) { (void)st.stop_requested(); });
  // CHECK-FIXES: balrog::jthread j([](std::stop_token st) { (void)st.stop_requested(); });
  j.request_stop();
  unsigned cores = std::thread::hardware_concurrency();
  // CHECK-FIXES: unsigned cores = balrog::thread::hardware_concurrency();
  auto* heap = new std::thread(start, std::ref(into), 0);
  // CHECK-FIXES: auto* heap = new balrog::thread(start, std::ref(into), 0);
  heap->detach();
  delete heap;
  (void)cores;
}

namespace spelled {
using namespace std;
thread::id first = this_thread::get_id();
// CHECK-FIXES: balrog::thread::id first = balrog::this_thread::get_id();
}  // namespace spelled

namespace through_using {
using std::thread;
// CHECK-FIXES: using balrog::thread;
using namespace std::this_thread;
thread make() { return thread([] {}); }
thread::id me = get_id();
// CHECK-FIXES: thread::id me = balrog::this_thread::get_id();
}  // namespace through_using

bool same_thread(std::thread::id a) { return a == ::std::this_thread::get_id(); }
// CHECK-FIXES: bool same_thread(balrog::thread::id a) { return a == ::balrog::this_thread::get_id(); }

// std::thread::hardware_concurrency() is the same function as balrog::thread's: in a macro body
// (a library's pool size, as cpp-httplib's CPPHTTPLIB_THREAD_POOL_COUNT) it stays, unreported;
// in a macro argument it is rewritten with the rest. std::thread::id in a macro body is reported.
#define POOL_COUNT (std::thread::hardware_concurrency() > 0 ? std::thread::hardware_concurrency() : 8u)
#define ARG(x) x
#define THREAD_ID std::thread::id
unsigned pool_count() { return POOL_COUNT; }
// CHECK-FIXES: unsigned pool_count() { return POOL_COUNT; }
unsigned arg_count() { return ARG(std::thread::hardware_concurrency()); }
// CHECK-FIXES: unsigned arg_count() { return ARG(balrog::thread::hardware_concurrency()); }
THREAD_ID macro_id;
// CHECK-MESSAGES: :[[@LINE-1]]:1: warning: 'std::thread' runs its function on an OS thread, outside the shard's fibers; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [sync-types]
// CHECK-FIXES: THREAD_ID macro_id;
