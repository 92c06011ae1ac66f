// balrog-blocking-calls as clang-tidy shows it: a warning with balrog-gen's message and a fix-it
// per rewrite; balrog-gen's refusals (macro bodies, macro arguments, NOBALROG) as warnings or
// silence. check_tidy.py also checks that --fix writes what balrog-gen -i writes, #include
// included. (clang-tidy's own NOLINT: options.test.)
// REQUIRES: balrog-tidy
// RUN: %check_tidy %s blocking-calls %t -- %balrog_std_flags

#include <sys/socket.h>
#include <unistd.h>

#define NAP sleep

int echo(int fd) {
  char buf[64];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  // CHECK-MESSAGES: :[[@LINE-1]]:15: warning: call to 'recv' blocks the thread; rewrite to 'balrog::compat::recv' [balrog-blocking-calls]
  NAP(1);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'sleep' blocks the thread; not rewritten: it is inside a macro body (rewrite the macro by hand, or mark the line NOBALROG) [balrog-blocking-calls]
  sleep(2);  // NOBALROG
  usleep(4);
  // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: call to 'usleep' blocks the thread; rewrite to 'balrog::compat::usleep' [balrog-blocking-calls]
  return static_cast<int>(n);
}
