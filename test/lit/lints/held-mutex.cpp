// A call that suspends the fiber (rewritten by blocking-calls, or already balrog's) while a
// kept std::mutex is held deadlocks the shard: reported at the call, rewrite kept as is.
// RUN: %check_balrog %s blocking-calls,sync-types,lints %t -- -- %balrog_std_flags -I%S/Inputs
// --report counts them, --check fails on them:
// RUN: %balrog_gen --passes=blocking-calls,sync-types,lints --report %s -- %balrog_std_flags -I%S/Inputs 2>/dev/null | %FileCheck %s --check-prefix=REPORT
// RUN: not %balrog_gen --passes=lints --check %t.cpp -- %balrog_std_flags -I%S/Inputs 2>&1 | %FileCheck %s --check-prefix=REWRITTEN

#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <mutex>
#include <thread>

#include "vendored_conn.hpp"
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES: #include <balrog/compat/posix_time.hpp>
// CHECK-FIXES: #include <balrog/sync/mutex.hpp>

std::mutex kept;  // NOBALROG(sync-types)
// CHECK-FIXES: std::mutex kept;  // NOBALROG(sync-types)
std::mutex rewritten;
// CHECK-FIXES: balrog::mutex rewritten;

// (a) a lock object on a kept mutex, in scope across the call.
ssize_t guarded(int fd, char* buf) {
  std::lock_guard g(kept);
  return recv(fd, buf, 1, 0);
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: call to 'recv' suspends the fiber while the std mutex 'kept' is held by the lock on line [[@LINE-2]], which stays a std mutex (not rewritten): the OS thread keeps it across the suspension, and the next fiber of the shard that locks it blocks the thread, so the holder never resumes and the shard deadlocks (let sync-types rewrite the mutex to balrog::mutex, or unlock it before the call) [lints]
  // CHECK-FIXES: return balrog::compat::recv(fd, buf, 1, 0);
}

// ... a mutex in a header outside the header filter (kept: the header is not edited).
void vendored(vendored_conn& c) {
  std::unique_lock<std::mutex> lk(c.lock);  // NOBALROG(sync-types)
  sleep(1);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'sleep' suspends the fiber while the std mutex 'c.lock' is held by the lock on line [[@LINE-2]], {{.*}} [lints]
  lk.unlock();
  sleep(2);  // released: fine
}

// ... std::scoped_lock of several, one of them kept.
void scoped(int fd) {
  std::scoped_lock both(kept, rewritten);
  (void)send(fd, "x", 1, 0);
  // CHECK-MESSAGES: :[[@LINE-1]]:9: warning: call to 'send' suspends the fiber while the std mutex 'kept' is held {{.*}} [lints]
}

// (b) lock() ... unlock() around the call.
void explicit_lock(int fd, char* buf) {
  kept.lock();
  (void)recv(fd, buf, 1, 0);
  // CHECK-MESSAGES: :[[@LINE-1]]:9: warning: call to 'recv' suspends the fiber while the std mutex 'kept' locked on line [[@LINE-2]], which stays a std mutex {{.*}} [lints]
  kept.unlock();
  (void)recv(fd, buf, 1, 0);  // after unlock(): fine
}

// The waits that sync-types rewrites to suspensions count too (its twins' waits suspend); a
// std::thread kept as it is blocks the thread instead (no suspension).
std::thread worker;
// CHECK-FIXES: balrog::thread worker;
std::thread kept_worker;  // NOBALROG(sync-types)
int join_under_lock(std::future<int>& result) {
  // CHECK-FIXES: int join_under_lock(balrog::future<int>& result) {
  std::lock_guard g(kept);
  worker.join();
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'std::thread::join' suspends the fiber while the std mutex 'kept' is held {{.*}} [lints]
  kept_worker.join();
  return result.get();
  // CHECK-MESSAGES: :[[@LINE-1]]:10: warning: call to 'std::future::get' suspends the fiber while the std mutex 'kept' is held {{.*}} [lints]
}

// Not reported: a rewritten mutex (it becomes a balrog::mutex), a lock that is released or
// deferred, a call that stays blocking (NOBALROG(blocking-calls)), a lambda defined under the
// lock but run elsewhere, a suppressed line.
void fine(int fd, char* buf) {
  {
    std::lock_guard g(rewritten);
    (void)recv(fd, buf, 1, 0);
    // CHECK-FIXES: (void)balrog::compat::recv(fd, buf, 1, 0);
  }
  {
    std::lock_guard g(kept);
  }
  (void)recv(fd, buf, 1, 0);
  std::unique_lock<std::mutex> deferred(kept, std::defer_lock);  // NOBALROG(sync-types)
  (void)recv(fd, buf, 1, 0);
  std::lock_guard g(kept);
  (void)recv(fd, buf, 1, 0);  // NOBALROG(blocking-calls)
  auto later = [fd, buf] { return recv(fd, buf, 1, 0); };
  (void)later;
  (void)recv(fd, buf, 1, 0);  // NOBALROG(lints)
}

// REPORT: balrog-gen report: 6 blocking call(s) not rewritten
// REPORT-NEXT: held-mutex.cpp:{{[0-9]+}}:10: recv [posix-net] held-mutex: call to 'recv' suspends the fiber
// REPORT-NEXT: held-mutex.cpp:{{[0-9]+}}:3: sleep [posix-time] held-mutex: call to 'sleep'
// REPORT-NEXT: held-mutex.cpp:{{[0-9]+}}:9: send [posix-net] held-mutex:
// REPORT-NEXT: held-mutex.cpp:{{[0-9]+}}:9: recv [posix-net] held-mutex:
// REPORT-NEXT: held-mutex.cpp:{{[0-9]+}}:3: std::thread::join [sync-types] held-mutex:
// REPORT-NEXT: held-mutex.cpp:{{[0-9]+}}:10: std::future::get [sync-types] held-mutex:
// REPORT-NEXT: per file:
// REPORT-NEXT: held-mutex.cpp: 6

// REWRITTEN: held-mutex.cpp.tmp.cpp:{{[0-9]+}}:10: warning: call to 'recv' suspends the fiber while the std mutex 'kept' is held
