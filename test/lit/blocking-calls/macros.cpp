// Inside macros: diagnosed, never edited. A call spelled in a macro body cannot be rewritten
// without changing every use of the macro; a call in a macro argument is spelled in the file,
// but rewriting it would change what the macro sees, so it is left to the author unless the
// pass option rewrite-in-macro-args says otherwise (second run, with a config file), also in
// a system header's macro (glibc's TEMP_FAILURE_RETRY).
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: rm -rf %t.dir && mkdir -p %t.dir && sed -e 's,//.*CHECK-.*,,' %s > %t.dir/macros.cpp
// RUN: printf 'pass-options:\n  blocking-calls: {rewrite-in-macro-args: true}\n' > %t.dir/.balrog.yaml
// RUN: %balrog_gen --passes=blocking-calls %t.dir/macros.cpp -- %balrog_std_flags 2>%t.dir/stderr | %FileCheck %s --check-prefix=ARGS
// RUN: %FileCheck %s --check-prefix=ARGS-MESSAGES --input-file=%t.dir/stderr

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

#define RECV_ALL(fd, buf) recv(fd, buf, sizeof buf, MSG_WAITALL)
#define CHECKED(expr) ((expr) < 0 ? -1 : 0)
#define NAP sleep

int use(int fd) {
  char buf[8];
  ssize_t n = RECV_ALL(fd, buf);
  // CHECK-MESSAGES: :[[@LINE-1]]:15: warning: call to 'recv' blocks the thread; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [blocking-calls]
  // CHECK-FIXES: ssize_t n = RECV_ALL(fd, buf);
  int r = CHECKED(send(fd, buf, 1, 0));
  // CHECK-MESSAGES: :[[@LINE-1]]:19: warning: call to 'send' blocks the thread; not rewritten: it is inside a macro argument (rewrite it by hand, or set the blocking-calls option rewrite-in-macro-args) [blocking-calls]
  // CHECK-FIXES: int r = CHECKED(send(fd, buf, 1, 0));
  // ARGS: -  int r = CHECKED(send(fd, buf, 1, 0));
  // ARGS-NEXT: +  int r = CHECKED(balrog::compat::send(fd, buf, 1, 0));
  NAP(1);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'sleep' blocks the thread; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [blocking-calls]
  // CHECK-FIXES: NAP(1);
  ssize_t m = TEMP_FAILURE_RETRY(recv(fd, buf, 1, 0));
  // CHECK-MESSAGES: :[[@LINE-1]]:34: warning: call to 'recv' blocks the thread; not rewritten: it is inside a macro argument (rewrite it by hand, or set the blocking-calls option rewrite-in-macro-args) [blocking-calls]
  // CHECK-FIXES: ssize_t m = TEMP_FAILURE_RETRY(recv(fd, buf, 1, 0));
  // ARGS: +  ssize_t m = TEMP_FAILURE_RETRY(balrog::compat::recv(fd, buf, 1, 0));
  return r + static_cast<int>(n + m);
}

// ARGS-MESSAGES: macros.cpp:[[@LINE-18]]:15: warning: call to 'recv' blocks the thread; not rewritten: it is inside a macro body
// ARGS-MESSAGES-NOT: macro argument
// ARGS-MESSAGES: macros.cpp:[[@LINE-12]]:3: warning: call to 'sleep'
