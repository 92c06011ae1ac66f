// A range-for's loop variable spells its type too: `for (std::thread& t : workers)` over a
// std::vector<std::thread> that becomes std::vector<balrog::thread> must become
// `balrog::thread&`, or the rewritten file does not compile. (Clang's matchers in
// TK_IgnoreUnlessSpelledInSource never visit the loop variable's TypeLoc.)
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags -DWITH_MACRO
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <array>
#include <map>
#include <mutex>
#include <semaphore>
#include <thread>
#include <vector>
// CHECK-FIXES: #include <array>
// CHECK-FIXES-NEXT: #include <balrog/sync/counting_semaphore.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/thread.hpp>
// CHECK-FIXES-NEXT: #include <map>

std::vector<std::thread> workers;
// CHECK-FIXES: std::vector<balrog::thread> workers;
std::array<std::mutex, 4> mutexes;
// CHECK-FIXES: std::array<balrog::mutex, 4> mutexes;
std::map<int, std::thread> named;
// CHECK-FIXES: std::map<int, balrog::thread> named;
std::vector<std::thread::id> ids;
// CHECK-FIXES: std::vector<balrog::thread::id> ids;
std::vector<std::unique_lock<std::mutex>> locks;
// CHECK-FIXES: std::vector<std::unique_lock<balrog::mutex>> locks;
std::vector<std::counting_semaphore<2>> semaphores;
// CHECK-FIXES: std::vector<balrog::counting_semaphore<2>> semaphores;
std::vector<std::mutex*> pointers;
// CHECK-FIXES: std::vector<balrog::mutex*> pointers;

void join_all() {
  for (std::thread& t : workers) t.join();
  // CHECK-FIXES: for (balrog::thread& t : workers) t.join();
  for (const std::thread& t : workers) (void)t.joinable();
  // CHECK-FIXES: for (const balrog::thread& t : workers) (void)t.joinable();
  for (::std::thread& t : workers) t.detach();
  // CHECK-FIXES: for (::balrog::thread& t : workers) t.detach();
  for (auto& m : mutexes) m.lock();
  // CHECK-FIXES: for (auto& m : mutexes) m.lock();
  for (std::mutex& m : mutexes) m.unlock();
  // CHECK-FIXES: for (balrog::mutex& m : mutexes) m.unlock();
  for (std::mutex* m : pointers) m->lock();
  // CHECK-FIXES: for (balrog::mutex* m : pointers) m->lock();
  for (std::pair<const int, std::thread>& kv : named) kv.second.join();
  // CHECK-FIXES: for (std::pair<const int, balrog::thread>& kv : named) kv.second.join();
  for (std::thread::id id : ids) (void)id;
  // CHECK-FIXES: for (balrog::thread::id id : ids) (void)id;
  for (std::unique_lock<std::mutex>& l : locks) l.unlock();
  // CHECK-FIXES: for (std::unique_lock<balrog::mutex>& l : locks) l.unlock();
  for (std::counting_semaphore<2>& s : semaphores) s.release();
  // CHECK-FIXES: for (balrog::counting_semaphore<2>& s : semaphores) s.release();
  for (int i = 0; std::thread& t : workers) t.join(), ++i;
  // CHECK-FIXES: for (int i = 0; balrog::thread& t : workers) t.join(), ++i;
  for (std::thread& t : workers) {
    // CHECK-FIXES: for (balrog::thread& t : workers) {
    for (std::mutex& m : mutexes) std::lock_guard<std::mutex> g(m);
    // CHECK-FIXES: for (balrog::mutex& m : mutexes) std::lock_guard<balrog::mutex> g(m);
    t.join();
  }
}

// In a lambda, and in a template (its pattern, once).
auto joiner = []() -> std::thread& {
  // CHECK-FIXES: auto joiner = []() -> balrog::thread& {
  for (std::thread& t : workers) t.join();
  // CHECK-FIXES: for (balrog::thread& t : workers) t.join();
  return workers.front();
};

template <typename T>
void join_then(std::vector<T>& rest) {
  for (std::thread& t : workers) t.join();
  // CHECK-FIXES: for (balrog::thread& t : workers) t.join();
  for (T& x : rest) (void)x;
}
template void join_then(std::vector<int>&);

// Through `using namespace std;` and `using std::thread;`.
namespace spelled {
using namespace std;
void join() {
  for (thread& t : workers) t.join();
  // CHECK-FIXES: for (balrog::thread& t : workers) t.join();
}
}  // namespace spelled
namespace through_using {
using std::mutex;
// CHECK-FIXES: using balrog::mutex;
void unlock() {
  for (mutex& m : mutexes) m.unlock();
  // CHECK-FIXES: for (mutex& m : mutexes) m.unlock();
}
}  // namespace through_using

// A type in a macro body is reported, as everywhere (and left: the rewritten file would not
// compile with it, hence only in the balrog-gen run).
#ifdef WITH_MACRO
#define THREAD_T std::thread
void macro_join() {
  for (THREAD_T& t : workers) t.join();
  // CHECK-MESSAGES: :[[@LINE-1]]:8: warning: 'std::thread' runs its function on an OS thread, outside the shard's fibers; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [sync-types]
}
#endif
