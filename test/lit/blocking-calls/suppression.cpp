// Suppression comments: NOBALROG (this line, optionally for listed passes), NOBALROGNEXTLINE,
// and regions between `balrog: off` and `balrog: on`. Suppressed calls are neither rewritten
// nor diagnosed.
// RUN: %check_balrog %s blocking-calls %t -- -- %balrog_std_flags

#include <sys/socket.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/posix_net.hpp>
// CHECK-FIXES-NEXT: #include <balrog/compat/posix_time.hpp>

void use(int fd, char* buf) {
  recv(fd, buf, 1, 0);  // NOBALROG
  // CHECK-FIXES: recv(fd, buf, 1, 0);  // NOBALROG
  recv(fd, buf, 1, 0);  // NOBALROG(blocking-calls)
  // CHECK-FIXES: recv(fd, buf, 1, 0);  // NOBALROG(blocking-calls)
  recv(fd, buf, 1, 0);  // NOBALROG(sync-types): another pass only
  // CHECK-FIXES: balrog::compat::recv(fd, buf, 1, 0);  // NOBALROG(sync-types): another pass only
  // NOBALROGNEXTLINE
  send(fd, buf, 1, 0);
  // CHECK-FIXES: send(fd, buf, 1, 0);
  send(fd, buf, 1, 0);
  // CHECK-FIXES: balrog::compat::send(fd, buf, 1, 0);
  // balrog: off
  sleep(1);
  // CHECK-FIXES: sleep(1);
  void* taken = reinterpret_cast<void*>(&recv);  // not even diagnosed
  (void)taken;
  // balrog: on
  sleep(2);
  // CHECK-FIXES: balrog::compat::sleep(2);
}
