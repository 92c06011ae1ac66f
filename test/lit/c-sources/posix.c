// A C file (.c, parsed as C): the posix-net, posix-fd, posix-time and posix-dns calls become
// their C twins (balrog_recv...) with the C face's headers, never C++ (no balrog::compat::,
// no .hpp). The C++-only passes (sync-types) do nothing here. The result compiles as C11
// with -Wall -Werror, and mentions no C++ name.
// RUN: printf 'maps: [posix-net, posix-time, posix-dns]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls,sync-types,lints %t -- --config-file=%t.balrog.yaml -- -std=c11 -D_GNU_SOURCE -I%runtime_include
// RUN: clang-16 -x c -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I%runtime_include %t.c
// RUN: sed 's|//.*||' %t.c | %not grep -E '::|\.hpp|balrog_gen_cxx'

#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
// CHECK-FIXES: #include <balrog/compat/c/posix_dns.h>
// CHECK-FIXES-NEXT: #include <balrog/compat/c/posix_fd.h>
// CHECK-FIXES-NEXT: #include <balrog/compat/c/posix_net.h>
// CHECK-FIXES-NEXT: #include <balrog/compat/c/posix_time.h>
// CHECK-FIXES-NEXT: #include <netdb.h>

int exchange(int fd, const struct sockaddr* to, socklen_t len) {
  char buf[64];
  struct pollfd p = {fd, POLLIN, 0};
  fd_set set;
  struct timeval tv = {1, 0};
  struct timespec nap = {0, 1000};
  struct addrinfo* res = NULL;
  ssize_t n;
  if (connect(fd, to, len) != 0) return -1;
  // CHECK-FIXES: if (balrog_connect(fd, to, len) != 0) return -1;
  n = send(fd, "ping", 4, 0);
  // CHECK-FIXES: n = balrog_send(fd, "ping", 4, 0);
  if (poll(&p, 1, 1000) != 1) return -1;
  // CHECK-FIXES: if (balrog_poll(&p, 1, 1000) != 1) return -1;
  FD_ZERO(&set);
  FD_SET(fd, &set);
  if (select(fd + 1, &set, NULL, NULL, &tv) != 1) return -1;
  // CHECK-FIXES: if (balrog_select(fd + 1, &set, NULL, NULL, &tv) != 1) return -1;
  n += recv(fd, buf, sizeof buf, 0);
  // CHECK-FIXES: n += balrog_recv(fd, buf, sizeof buf, 0);
  n += read(fd, buf, sizeof buf) + write(fd, buf, 1);
  // CHECK-FIXES: n += balrog_read(fd, buf, sizeof buf) + balrog_write(fd, buf, 1);
  nanosleep(&nap, NULL);
  // CHECK-FIXES: balrog_nanosleep(&nap, NULL);
  usleep(10);
  // CHECK-FIXES: balrog_usleep(10);
  if (getaddrinfo("127.0.0.1", "80", NULL, &res) == 0) freeaddrinfo(res);
  // CHECK-FIXES: if (balrog_getaddrinfo("127.0.0.1", "80", NULL, &res) == 0) freeaddrinfo(res);
  close(fd);
  // CHECK-FIXES: balrog_close(fd);
  return (int)n + (int)sleep(0);
  // CHECK-FIXES: return (int)n + (int)balrog_sleep(0);
}

// Not a blocking call: left as it is.
int count(int x) { return x + 1; }
// CHECK-FIXES: int count(int x) { return x + 1; }
