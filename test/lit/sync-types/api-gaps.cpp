// What the twins do not offer is diagnosed, not rewritten around: native_handle(), the
// std::stop_token waits of std::condition_variable_any and std::notify_all_at_thread_exit do not
// compile once their object is rewritten, unless the object is kept (NOBALROG on its
// declaration).
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags

#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>
// CHECK-FIXES: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <balrog/thread.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

std::mutex m;
// CHECK-FIXES: balrog::mutex m;
std::mutex pthread_backed;  // NOBALROG(sync-types): native_handle() below
std::condition_variable cv;
// CHECK-FIXES: balrog::condition_variable cv;
std::condition_variable_any cva;
// CHECK-FIXES: balrog::condition_variable_any cva;

void use(std::stop_token st) {
  auto h = m.native_handle();
  // CHECK-MESSAGES: :[[@LINE-1]]:14: warning: 'std::mutex::native_handle' has no balrog twin (balrog::mutex is not a pthread object): this call does not compile once 'm' is rewritten (keep it a std::mutex: mark its declaration NOBALROG(sync-types)) [sync-types]
  auto kept = pthread_backed.native_handle();
  (void)h;
  (void)kept;
  std::unique_lock lk(m);
  cva.wait(lk, st, [] { return true; });
  // CHECK-MESSAGES: :[[@LINE-1]]:7: warning: balrog::condition_variable_any has no std::stop_token overloads: this call does not compile once 'cva' is rewritten (cancel the fiber instead, or keep a std::condition_variable_any: mark its declaration NOBALROG(sync-types)) [sync-types]
  cva.wait(lk, [] { return true; });
  std::notify_all_at_thread_exit(cv, std::move(lk));
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: 'std::notify_all_at_thread_exit' takes a std::condition_variable and has no balrog twin: this call does not compile once 'cv' is rewritten (call notify_all() as the thread's last step instead, or mark the condition variable's declaration NOBALROG(sync-types)) [sync-types]
}

void native(std::thread& t) {
  // CHECK-FIXES: void native(balrog::thread& t) {
  auto h = t.native_handle();
  // CHECK-MESSAGES: :[[@LINE-1]]:14: warning: 'std::thread::native_handle' has no balrog twin (balrog::thread is not a pthread object): this call does not compile once 't' is rewritten (keep it a std::thread: mark its declaration NOBALROG(sync-types)) [sync-types]
  (void)h;
}
