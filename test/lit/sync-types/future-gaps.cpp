// What the future twins do not offer is diagnosed: the *_at_thread_exit members of std::promise
// and std::packaged_task (a fiber has no thread exit) do not compile once their object is
// rewritten.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags

#include <future>
// CHECK-FIXES: #include <balrog/future.hpp>

void kept(std::promise<int>& p) {  // NOBALROG(sync-types)
  p.set_value_at_thread_exit(1);  // NOBALROG: the diagnostic goes with the suppression
}

void at_thread_exit(std::promise<int>& p, std::promise<void>& q) {
  // CHECK-FIXES: void at_thread_exit(balrog::promise<int>& p, balrog::promise<void>& q) {
  p.set_value_at_thread_exit(1);
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: 'std::promise::set_value_at_thread_exit' has no balrog twin (a fiber has no thread exit): this call does not compile once 'p' is rewritten to balrog::promise (set the result as the function's last step instead, or keep it a std::promise: mark its declaration NOBALROG(sync-types)) [sync-types]
  q.set_exception_at_thread_exit(nullptr);
  // CHECK-MESSAGES: :[[@LINE-1]]:5: warning: 'std::promise::set_exception_at_thread_exit' has no balrog twin {{.*}} [sync-types]
  std::packaged_task<int()> task([] { return 1; });
  // CHECK-FIXES: balrog::packaged_task<int()> task([] { return 1; });
  task.make_ready_at_thread_exit();
  // CHECK-MESSAGES: :[[@LINE-1]]:8: warning: 'std::packaged_task::make_ready_at_thread_exit' has no balrog twin {{.*}} once 'task' is rewritten to balrog::packaged_task {{.*}} [sync-types]
}
