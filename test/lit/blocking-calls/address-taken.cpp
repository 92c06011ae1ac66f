// A blocking function taken by address (explicitly, by decay, passed as a function pointer)
// is diagnosed: calls through the pointer cannot be rewritten.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags

#include <sys/socket.h>
#include <unistd.h>

using recv_fn = ssize_t (*)(int, void*, size_t, int);

ssize_t call(recv_fn f, int fd, char* buf) { return f(fd, buf, 1, 0); }

ssize_t use(int fd, char* buf) {
  recv_fn by_address = &recv;
  // CHECK-MESSAGES: :[[@LINE-1]]:25: warning: 'recv' is taken by address; calls through the pointer block the thread and are not rewritten (call 'balrog::compat::recv' instead) [blocking-calls]
  recv_fn by_decay = ::recv;
  // CHECK-MESSAGES: :[[@LINE-1]]:22: warning: 'recv' is taken by address; calls through the pointer block the thread and are not rewritten (call 'balrog::compat::recv' instead) [blocking-calls]
  ssize_t n = call(recv, fd, buf) + by_address(fd, buf, 1, 0) + by_decay(fd, buf, 1, 0);
  // CHECK-MESSAGES: :[[@LINE-1]]:20: warning: 'recv' is taken by address; calls through the pointer block the thread and are not rewritten (call 'balrog::compat::recv' instead) [blocking-calls]
  unsigned (*nap)(unsigned) = sleep;
  // CHECK-MESSAGES: :[[@LINE-1]]:31: warning: 'sleep' is taken by address; calls through the pointer block the thread and are not rewritten (call 'balrog::compat::sleep' instead) [blocking-calls]
  return n + nap(0);
}
