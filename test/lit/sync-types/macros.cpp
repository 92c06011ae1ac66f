// Inside macros: a type spelled in a macro body is diagnosed at each use of the macro and never
// edited (the edit would change every use). A type spelled in a macro argument is spelled in
// the file and is the same type in every expansion, so it is rewritten; the pass option
// rewrite-in-macro-args: false turns that into a diagnostic (second run, with a config file).
// RUN: %check_balrog %s sync-types %t -- -- %balrog_std_flags
// RUN: rm -rf %t.dir && mkdir -p %t.dir && sed -e 's,//.*CHECK-.*,,' %s > %t.dir/macros.cpp
// RUN: printf 'pass-options:\n  sync-types: {rewrite-in-macro-args: false}\n' > %t.dir/.balrog.yaml
// RUN: %balrog_gen --passes=sync-types %t.dir/macros.cpp -- %balrog_std_flags 2>%t.dir/stderr | %FileCheck %s --check-prefix=ARGS
// RUN: %FileCheck %s --check-prefix=ARGS-MESSAGES --input-file=%t.dir/stderr

#include <condition_variable>
#include <mutex>
// CHECK-FIXES: #include <balrog/sync/condition_variable.hpp>
// CHECK-FIXES-NEXT: #include <balrog/sync/mutex.hpp>
// CHECK-FIXES-NEXT: #include <condition_variable>

#define MUTEX_T std::mutex
#define DECLARE_LOCK(name) std::mutex name
#define WRAP(x) x

std::mutex plain;
// CHECK-FIXES: balrog::mutex plain;
MUTEX_T by_macro;
// CHECK-MESSAGES: :[[@LINE-1]]:1: warning: 'std::mutex' blocks the thread while it waits; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [sync-types]
// CHECK-FIXES: MUTEX_T by_macro;
DECLARE_LOCK(declared);
// CHECK-MESSAGES: :[[@LINE-1]]:1: warning: 'std::mutex' blocks the thread while it waits; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [sync-types]
// CHECK-FIXES: DECLARE_LOCK(declared);
WRAP(std::mutex) wrapped;
// CHECK-FIXES: WRAP(balrog::mutex) wrapped;
WRAP(std::condition_variable) cv;
// CHECK-FIXES: WRAP(balrog::condition_variable) cv;

void use() {
  std::lock_guard<WRAP(std::mutex)> lk(wrapped);
  // CHECK-FIXES: std::lock_guard<WRAP(balrog::mutex)> lk(wrapped);
  std::lock_guard<MUTEX_T> kept(by_macro);
  // CHECK-MESSAGES: :[[@LINE-1]]:19: warning: 'std::mutex' blocks the thread while it waits; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [sync-types]
  // CHECK-FIXES: std::lock_guard<MUTEX_T> kept(by_macro);
}

// ARGS: -std::mutex plain;
// ARGS-NEXT: +balrog::mutex plain;
// ARGS-NOT: WRAP(balrog
// ARGS-MESSAGES: macros.cpp:[[@LINE-22]]:1: warning: 'std::mutex' {{.*}} inside a macro body
// ARGS-MESSAGES-NEXT: macros.cpp:[[@LINE-20]]:1: warning: 'std::mutex' {{.*}} inside a macro body
// ARGS-MESSAGES-NEXT: macros.cpp:[[@LINE-18]]:6: warning: 'std::mutex' blocks the thread while it waits; not rewritten: it is inside a macro argument (rewrite it by hand, or set the sync-types option rewrite-in-macro-args) [sync-types]
// ARGS-MESSAGES-NEXT: macros.cpp:[[@LINE-17]]:6: warning: 'std::condition_variable' {{.*}} inside a macro argument
// ARGS-MESSAGES-NEXT: macros.cpp:[[@LINE-14]]:24: warning: 'std::mutex' {{.*}} inside a macro argument
// ARGS-MESSAGES-NEXT: macros.cpp:[[@LINE-13]]:19: warning: 'std::mutex' {{.*}} inside a macro body
