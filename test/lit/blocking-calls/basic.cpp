// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags

#include <sys/socket.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <balrog/compat/posix_time.hpp>
// CHECK-FIXES-NEXT: #include <sys/socket.h>

int echo(int fd) {
  char buf[64];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  // CHECK-FIXES: ssize_t n = balrog::compat::recv(fd, buf, sizeof buf, 0);
  ::send(fd, buf, static_cast<size_t>(n), 0);
  // CHECK-FIXES: balrog::compat::send(fd, buf, static_cast<size_t>(n), 0);
  sleep(1);
  // CHECK-FIXES: balrog::compat::sleep(1);
  return static_cast<int>(n);
}
