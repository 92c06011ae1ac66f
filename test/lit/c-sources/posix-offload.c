// A C file with the posix-offload map: every entry becomes its C twin balrog_<f>(args)
// (balrog/compat/c/posix_offload.h: offloaded<&::f> with C linkage, the call on the offload
// pool while the fiber waits); the rest of unistd.h / sys/wait.h stays. The result compiles as
// C and mentions no C++ name.
// RUN: printf 'maps: [posix-offload]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- -std=c11 -D_GNU_SOURCE -I%runtime_include
// RUN: clang-16 -x c -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I%runtime_include %t.c
// RUN: sed 's|//.*||' %t.c | %not grep -E '::|\.hpp|offloaded'

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/c/posix_offload.h>
// CHECK-FIXES-NEXT: #include <fcntl.h>

int flush_all(int fd) {
  int rc = fsync(fd);
  // CHECK-FIXES: int rc = balrog_fsync(fd);
  rc |= fdatasync(fd);
  // CHECK-FIXES: rc |= balrog_fdatasync(fd);
  rc |= syncfs(fd);
  // CHECK-FIXES: rc |= balrog_syncfs(fd);
  sync();
  // CHECK-FIXES: balrog_sync();
  return rc;
}

int locks(int fd) {
  int rc = flock(fd, LOCK_EX);
  // CHECK-FIXES: int rc = balrog_flock(fd, LOCK_EX);
  rc |= lockf(fd, F_LOCK, 0);
  // CHECK-FIXES: rc |= balrog_lockf(fd, F_LOCK, 0);
  return rc;
}

int children(pid_t pid) {
  int status = 0;
  int rc;
  siginfo_t info;
  FILE* out;
  pid_t p = waitpid(pid, &status, 0);
  // CHECK-FIXES: pid_t p = balrog_waitpid(pid, &status, 0);
  p = wait(&status);
  // CHECK-FIXES: p = balrog_wait(&status);
  memset(&info, 0, sizeof info);
  (void)waitid(P_PID, (id_t)pid, &info, WEXITED);
  // CHECK-FIXES: (void)balrog_waitid(P_PID, (id_t)pid, &info, WEXITED);
  rc = system("true");
  // CHECK-FIXES: rc = balrog_system("true");
  out = popen("echo hi", "r");
  // CHECK-FIXES: out = balrog_popen("echo hi", "r");
  (void)pclose(out);
  // CHECK-FIXES: (void)balrog_pclose(out);
  (void)getpid();
  // CHECK-FIXES: (void)getpid();
  return rc + p;
}
