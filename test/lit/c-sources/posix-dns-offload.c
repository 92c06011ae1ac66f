// A C file with the posix-dns map's offload rows: the reverse lookups and glibc's asynchronous
// family become their C twins (balrog/compat/c/posix_dns.h: libc's call through offloaded,
// C linkage); gai_error, gai_cancel and gai_strerror never wait and stay. The result compiles
// as C and mentions no C++ name.
// RUN: printf 'maps: [posix-dns]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- -std=c11 -D_GNU_SOURCE -I%runtime_include
// RUN: clang-16 -x c -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I%runtime_include %t.c
// RUN: sed 's|//.*||' %t.c | %not grep -E '::|\.hpp|offloaded'

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>
// CHECK-FIXES: #include <balrog/compat/c/posix_dns.h>
// CHECK-FIXES-NEXT: #include <netdb.h>

int reverse(const void* addr, struct hostent* he, char* buf, size_t len) {
  struct hostent* found = gethostbyaddr(addr, 4, AF_INET);
  // CHECK-FIXES: struct hostent* found = balrog_gethostbyaddr(addr, 4, AF_INET);
  int err = 0;
  int rc = gethostbyaddr_r(addr, 4, AF_INET, he, buf, len, &found, &err);
  // CHECK-FIXES: int rc = balrog_gethostbyaddr_r(addr, 4, AF_INET, he, buf, len, &found, &err);
  return rc + err;
}

int batch(struct gaicb** list, int n) {
  int rc = getaddrinfo_a(GAI_WAIT, list, n, NULL);
  // CHECK-FIXES: int rc = balrog_getaddrinfo_a(GAI_WAIT, list, n, NULL);
  rc |= gai_suspend((const struct gaicb* const*)list, n, NULL);
  // CHECK-FIXES: rc |= balrog_gai_suspend((const struct gaicb* const*)list, n, NULL);
  rc |= gai_error(list[0]);
  // CHECK-FIXES: rc |= gai_error(list[0]);
  return rc;
}
