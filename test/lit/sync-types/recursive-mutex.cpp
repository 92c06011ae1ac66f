// std::recursive_mutex and std::recursive_timed_mutex become balrog::recursive_mutex and
// balrog::recursive_timed_mutex (owner = the fiber), in every place they are spelled; the std
// lock types around them stay. The rewritten file compiles against the runtime.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// The mixed lock at the end is reported because it does not compile; the rest does:
// RUN: clang++-16 -fsyntax-only -DWITHOUT_MIXED %balrog_std_flags %t.cpp

#include <chrono>
#include <mutex>
// CHECK-FIXES: #include <balrog/sync/recursive_mutex.hpp>
// CHECK-FIXES-NEXT: #include <chrono>

class connection {
 public:
  void send_all() {
    std::lock_guard<std::recursive_mutex> g(mutex_);
    // CHECK-FIXES: std::lock_guard<balrog::recursive_mutex> g(mutex_);
    send_one();  // locks again: fine, same owner
  }
  void send_one() { std::scoped_lock g(mutex_); }
  bool try_for() {
    std::unique_lock<std::recursive_timed_mutex> lk(timed_, std::chrono::milliseconds(5));
    // CHECK-FIXES: std::unique_lock<balrog::recursive_timed_mutex> lk(timed_, std::chrono::milliseconds(5));
    return lk.owns_lock() && timed_.try_lock_for(std::chrono::milliseconds(1));
  }

 private:
  std::recursive_mutex mutex_;
  // CHECK-FIXES: balrog::recursive_mutex mutex_;
  ::std::recursive_timed_mutex timed_;
  // CHECK-FIXES: ::balrog::recursive_timed_mutex timed_;
};

using reentrant = std::recursive_mutex;
// CHECK-FIXES: using reentrant = balrog::recursive_mutex;
reentrant shared_lock_of_a_library;

#ifndef WITHOUT_MIXED
std::recursive_mutex kept;  // NOBALROG(sync-types)
// CHECK-FIXES: std::recursive_mutex kept;  // NOBALROG(sync-types)
std::lock_guard<std::recursive_mutex> mixed(kept);
// CHECK-MESSAGES: :[[@LINE-1]]:45: warning: 'kept' stays a std::recursive_mutex (not rewritten), but the type of this lock is rewritten to take a balrog::recursive_mutex: the rewritten code does not compile (let both be rewritten, or mark this line NOBALROG(sync-types) too) [sync-types]
// CHECK-FIXES: std::lock_guard<balrog::recursive_mutex> mixed(kept);
#endif
