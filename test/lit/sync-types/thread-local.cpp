// thread_local variables are reported (every fiber of a thread shares one instance), never
// rewritten; NOBALROG on the declaration keeps one where one per OS thread is intended. Each
// variable is reported once, at its first declaration; system headers are never reported.
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: not %balrog_gen --passes=sync-types --check %s -- %balrog_std_flags 2>%t.check
// RUN: %FileCheck %s --check-prefix=CHECK-MODE --input-file=%t.check

#include <string>

thread_local int request_count = 0;
// CHECK-MESSAGES: :[[@LINE-1]]:18: warning: 'request_count' is thread_local: every fiber of a thread shares one instance (a balrog::thread is a fiber of the thread that started it, and fibers interleave at every suspension point); not rewritten (keep per-fiber state in the fiber's function or an object passed to it, or mark the declaration NOBALROG(sync-types) when one per OS thread is intended) [sync-types]
// CHECK-MODE: thread-local.cpp:[[@LINE-2]]:18: warning: 'request_count' is thread_local

struct context {
  static thread_local std::string current_user;
  // CHECK-MESSAGES: :[[@LINE-1]]:35: warning: 'current_user' is thread_local: {{.*}} [sync-types]
};
thread_local std::string context::current_user;

int next_id() {
  static thread_local int counter = 0;
  // CHECK-MESSAGES: :[[@LINE-1]]:27: warning: 'counter' is thread_local: {{.*}} [sync-types]
  return ++counter;
}

__thread int gnu_spelling;
// CHECK-MESSAGES: :[[@LINE-1]]:14: warning: 'gnu_spelling' is thread_local: {{.*}} [sync-types]

thread_local char scratch[64];  // NOBALROG(sync-types): a per-OS-thread buffer, on purpose

static int not_thread_local;
