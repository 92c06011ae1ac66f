// A loop that a signal ends through EINTR, around a call that suspends the fiber once
// rewritten, never ends: a fiber's wait never fails with EINTR.
// RUN: %check_balrog %s blocking-calls,lints %t -- -- %balrog_std_flags

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>

void serve(int);
bool stop_requested();

void accept_loop(int listener) {
  for (;;) {
    // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: this loop ends when a call fails with EINTR (line [[@LINE+2]]), around 'accept', which suspends the fiber once rewritten: a fiber's wait is never interrupted by a signal (the reactor retries), so EINTR never comes and the loop never ends on a signal (let the signal handler set a flag that the loop checks and cancel the fiber, or wake it through a self-pipe or eventfd it waits on; mark the loop NOBALROG(lints) if something else ends it) [lints]
    int fd = accept(listener, nullptr, nullptr);
    if (fd < 0 && errno == EINTR) break;
    // CHECK-FIXES: int fd = balrog::compat::accept(listener, nullptr, nullptr);
    serve(fd);
  }
}

ssize_t read_until_signal(int fd, char* buf) {
  ssize_t n;
  do {
    // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: this loop ends when a call fails with EINTR (line [[@LINE+3]]), around 'recv'{{.*}} [lints]
    n = recv(fd, buf, 1, 0);
    // CHECK-FIXES: n = balrog::compat::recv(fd, buf, 1, 0);
  } while (errno != EINTR);
  return n;
}

int wait_for_client(int listener) {
  while (true) {
    // CHECK-MESSAGES: :[[@LINE-1]]:3: warning: this loop ends when a call fails with EINTR {{.*}} around 'accept'{{.*}} [lints]
    int fd = accept(listener, nullptr, nullptr);
    // CHECK-FIXES: int fd = balrog::compat::accept(listener, nullptr, nullptr);
    if (fd >= 0) return fd;
    if (errno == EINTR) {
      if (stop_requested()) return -1;
    }
  }
}

// Not reported: the retry idioms (EINTR goes round again), a loop without a suspending call,
// a loop under NOBALROG(lints).
ssize_t retry(int fd, char* buf) {
  ssize_t n;
  do {
    n = recv(fd, buf, 1, 0);
    // CHECK-FIXES: n = balrog::compat::recv(fd, buf, 1, 0);
  } while (n < 0 && errno == EINTR);
  while ((n = recv(fd, buf, 1, 0)) < 0 && errno == EINTR) {
    // CHECK-FIXES: while ((n = balrog::compat::recv(fd, buf, 1, 0)) < 0 && errno == EINTR) {
  }
  for (;;) {
    n = recv(fd, buf, 1, 0);
    // CHECK-FIXES: n = balrog::compat::recv(fd, buf, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    return n;
  }
  for (;;) {
    if (errno == EINTR) break;
    serve(fd);
  }
  while (true) {  // NOBALROG(lints)
    n = recv(fd, buf, 1, 0);
    // CHECK-FIXES: n = balrog::compat::recv(fd, buf, 1, 0);
    if (errno == EINTR) break;
  }
  return n;
}
