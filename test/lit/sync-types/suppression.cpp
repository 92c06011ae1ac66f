// Suppression comments (handled by the tool for every pass): NOBALROG, NOBALROG(sync-types),
// NOBALROGNEXTLINE and `balrog: off` ... `balrog: on` keep a type as it is, without a
// diagnostic. NOBALROG(<another pass>) does not. A kept mutex and a rewritten lock (or the other
// way round) no longer fit together: the pass reports each place where the rewritten code would
// not compile.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags

#include <condition_variable>
#include <mutex>
// CHECK-FIXES: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

std::mutex kept;  // NOBALROG
// CHECK-FIXES: std::mutex kept;  // NOBALROG
std::mutex kept_too;  // NOBALROG(sync-types, blocking-calls)
// CHECK-FIXES: std::mutex kept_too;  // NOBALROG(sync-types, blocking-calls)
std::mutex other_pass;  // NOBALROG(blocking-calls): another pass only
// CHECK-FIXES: balrog::mutex other_pass;  // NOBALROG(blocking-calls): another pass only
// NOBALROGNEXTLINE
std::condition_variable kept_cv;
// CHECK-FIXES: std::condition_variable kept_cv;
std::condition_variable cv;
// CHECK-FIXES: balrog::condition_variable cv;

// balrog: off
struct legacy {
  std::mutex m;
  // CHECK-FIXES: std::mutex m;
  std::condition_variable cv;
  // CHECK-FIXES: std::condition_variable cv;
  void wait() {
    std::unique_lock<std::mutex> lk(m);
    // CHECK-FIXES: std::unique_lock<std::mutex> lk(m);
    cv.wait(lk);
  }
};
// balrog: on

void consistent() {
  std::lock_guard<std::mutex> a(kept);  // NOBALROG(sync-types)
  // CHECK-FIXES: std::lock_guard<std::mutex> a(kept);  // NOBALROG(sync-types)
  std::unique_lock<std::mutex> b(other_pass);
  // CHECK-FIXES: std::unique_lock<balrog::mutex> b(other_pass);
  cv.wait(b);
  std::unique_lock c(kept);
  kept_cv.wait(c);
}

// A diagnostic about a line under a suppression comment is suppressed with it, so this lock type
// is kept through an alias.
using kept_lock = std::lock_guard<std::mutex>;  // NOBALROG
// CHECK-FIXES: using kept_lock = std::lock_guard<std::mutex>;  // NOBALROG

void take(std::mutex& m);
// CHECK-FIXES: void take(balrog::mutex& m);
void take_kept(std::mutex* m);  // NOBALROG
// CHECK-FIXES: void take_kept(std::mutex* m);  // NOBALROG

// The rewritten file does not compile from here on (hence no clang++ -fsyntax-only RUN line).
void mixed() {
  std::lock_guard<std::mutex> a(kept);
  // CHECK-MESSAGES: :[[@LINE-1]]:33: warning: 'kept' stays a std::mutex (not rewritten), but the type of this lock is rewritten to take a balrog::mutex: the rewritten code does not compile (let both be rewritten, or mark this line NOBALROG(sync-types) too) [sync-types]
  // CHECK-FIXES: std::lock_guard<balrog::mutex> a(kept);
  kept_lock b(other_pass);
  // CHECK-MESSAGES: :[[@LINE-1]]:15: warning: 'other_pass' becomes a balrog::mutex, but the type of this lock still takes a std::mutex (not rewritten): the rewritten code does not compile (let both be rewritten, or mark the mutex's declaration NOBALROG(sync-types) too) [sync-types]
  std::unique_lock c(other_pass);
  kept_cv.wait(c);
  // CHECK-MESSAGES: :[[@LINE-1]]:11: warning: 'kept_cv' stays a std::condition_variable (not rewritten), which waits only with a std::unique_lock<std::mutex>, but the mutex of 'c' becomes a balrog::mutex: the rewritten code does not compile (let both be rewritten, or mark the mutex's declaration NOBALROG(sync-types) too) [sync-types]
  take(kept);
  // CHECK-MESSAGES: :[[@LINE-1]]:8: warning: 'kept' stays a std::mutex (not rewritten), but this parameter of 'take' is rewritten to take a balrog::mutex: the rewritten code does not compile (let both be rewritten, or mark the parameter NOBALROG(sync-types) too) [sync-types]
  take_kept(&other_pass);
  // CHECK-MESSAGES: :[[@LINE-1]]:13: warning: '&other_pass' becomes a balrog::mutex, but this parameter of 'take_kept' still takes a std::mutex (not rewritten): the rewritten code does not compile (keep '&other_pass' a std::mutex: mark its declaration NOBALROG(sync-types)) [sync-types]
  std::unique_lock d(kept);
  cv.wait(d);
  // CHECK-MESSAGES: :[[@LINE-1]]:6: warning: 'cv' becomes a balrog::condition_variable, which waits only with a std::unique_lock<balrog::mutex>, but the mutex of 'd' stays a std::mutex (not rewritten): the rewritten code does not compile (let both be rewritten, or mark the condition variable's declaration NOBALROG(sync-types) too) [sync-types]
}
