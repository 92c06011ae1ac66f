// The posix-dns map: getaddrinfo, getnameinfo, gethostbyname and gethostbyname_r become their
// balrog::compat twins (run on the offload pool), with the include; the rest of netdb.h stays.
// The rewritten file compiles against the runtime. In coroutines they are reported with the
// co_await form. The other lookups and glibc's getaddrinfo_a family are offload entries:
// balrog::compat::offloaded<&::f>, with that include; gai_error and gai_strerror never wait.
// RUN: printf 'maps: [posix-dns]\n' > %t.balrog.yaml
// RUN: %check_balrog %s blocking-calls %t -- --config-file=%t.balrog.yaml -- %balrog_std_flags
// RUN: clang++-16 -fsyntax-only %balrog_std_flags %t.cpp

#include <netdb.h>
#include <sys/socket.h>
// CHECK-FIXES: #include <balrog/compat/offloaded.hpp>
// CHECK-FIXES-NEXT: #include <balrog/compat/posix_dns.hpp>
// CHECK-FIXES-NEXT: #include <netdb.h>

int resolve(const char* host, const char* port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (int rc = getaddrinfo(host, port, &hints, &list); rc != 0) return rc;
  // CHECK-FIXES: if (int rc = balrog::compat::getaddrinfo(host, port, &hints, &list); rc != 0) return rc;
  char name[NI_MAXHOST];
  const int rc = ::getnameinfo(list->ai_addr, list->ai_addrlen, name, sizeof name, nullptr, 0, 0);
  // CHECK-FIXES: const int rc = balrog::compat::getnameinfo(list->ai_addr, list->ai_addrlen, name, sizeof name, nullptr, 0, 0);
  freeaddrinfo(list);
  // CHECK-FIXES: freeaddrinfo(list);
  return rc;
}

const char* legacy(const char* host) {
  hostent* h = gethostbyname(host);
  // CHECK-FIXES: hostent* h = balrog::compat::gethostbyname(host);
  hostent entry;
  hostent* found = nullptr;
  char buf[1024];
  int herr = 0;
  gethostbyname_r(host, &entry, buf, sizeof buf, &found, &herr);
  // CHECK-FIXES: balrog::compat::gethostbyname_r(host, &entry, buf, sizeof buf, &found, &herr);
  (void)gai_strerror(0);
  return h != nullptr ? h->h_name : found != nullptr ? found->h_name : nullptr;
}

int reverse_and_async(const in_addr* a, gaicb* request) {
  hostent* h = gethostbyaddr(a, sizeof *a, AF_INET);
  // CHECK-FIXES: hostent* h = balrog::compat::offloaded<&::gethostbyaddr>(a, sizeof *a, AF_INET);
  hostent entry;
  hostent* found = nullptr;
  char buf[1024];
  int herr = 0;
  (void)gethostbyaddr_r(a, sizeof *a, AF_INET, &entry, buf, sizeof buf, &found, &herr);
  // CHECK-FIXES: (void)balrog::compat::offloaded<&::gethostbyaddr_r>(a, sizeof *a, AF_INET, &entry, buf, sizeof buf, &found, &herr);
  gaicb* list[] = {request};
  int rc = getaddrinfo_a(GAI_WAIT, list, 1, nullptr);
  // CHECK-FIXES: int rc = balrog::compat::offloaded<&::getaddrinfo_a>(GAI_WAIT, list, 1, nullptr);
  rc |= gai_suspend(list, 1, nullptr);
  // CHECK-FIXES: rc |= balrog::compat::offloaded<&::gai_suspend>(list, 1, nullptr);
  rc |= gai_error(request);
  // CHECK-FIXES: rc |= gai_error(request);
  return h != nullptr ? rc : -1;
}
