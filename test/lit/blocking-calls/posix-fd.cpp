// The calls that end an fd or change what it is never wait, but the runtime must see them
// (balrog/compat/posix_fd.hpp): they are rewritten everywhere, inside coroutines too, and the
// rewritten file compiles against the compat layer (same signatures).
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <balrog/task.hpp>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_fd.hpp>
// CHECK-FIXES-NEXT: #include <balrog/task.hpp>

void fd_changes(int fd, int other, int* on, timeval* tv) {
  fcntl(fd, F_SETFL, O_NONBLOCK);
  // CHECK-FIXES: balrog::compat::fcntl(fd, F_SETFL, O_NONBLOCK);
  ::fcntl(fd, F_GETFL);
  // CHECK-FIXES: balrog::compat::fcntl(fd, F_GETFL);
  ioctl(fd, FIONBIO, on);
  // CHECK-FIXES: balrog::compat::ioctl(fd, FIONBIO, on);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof *tv);
  // CHECK-FIXES: balrog::compat::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof *tv);
  dup2(other, fd);
  // CHECK-FIXES: balrog::compat::dup2(other, fd);
  dup3(other, fd, O_CLOEXEC);
  // CHECK-FIXES: balrog::compat::dup3(other, fd, O_CLOEXEC);
  close(fd);
  // CHECK-FIXES: balrog::compat::close(fd);
}

// Inside a coroutine a close cannot block the shard: rewritten, not diagnosed.
balrog::task<void> closer(int fd) {
  close(fd);
  // CHECK-FIXES: balrog::compat::close(fd);
  co_return;
}

// Taken by address: calls through the pointer escape the runtime.
int (*closing)(int) = &close;
// CHECK-MESSAGES: :[[@LINE-1]]:24: warning: 'close' is taken by address; calls through the pointer are not seen by the runtime and are not rewritten (call 'balrog::compat::close' instead) [blocking-calls]
