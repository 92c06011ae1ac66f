// Using-declarations and qualified / unqualified spellings. The using-declaration itself names
// the function without calling it, so it stays (it is harmless: the compat header does not
// declare a ::recv). The rewritten file compiles.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <sys/socket.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <balrog/compat/posix_time.hpp>
// CHECK-FIXES-NEXT: #include <sys/socket.h>

namespace app {
using ::recv;
// CHECK-FIXES: using ::recv;
using ::sleep;

ssize_t get(int fd, char* buf) {
  sleep(1);
  // CHECK-FIXES: balrog::compat::sleep(1);
  return recv(fd, buf, 1, 0) + app::recv(fd, buf, 1, 0) + ::app::recv(fd, buf, 1, 0);
  // CHECK-FIXES: return balrog::compat::recv(fd, buf, 1, 0) + balrog::compat::recv(fd, buf, 1, 0) + balrog::compat::recv(fd, buf, 1, 0);
}
}  // namespace app

ssize_t put(int fd, const char* buf) {
  using ::send;
  return send(fd, buf, 1, 0) + ::send(fd, buf, 1, 0) + app::get(fd, nullptr);
  // CHECK-FIXES: return balrog::compat::send(fd, buf, 1, 0) + balrog::compat::send(fd, buf, 1, 0) + app::get(fd, nullptr);
}
